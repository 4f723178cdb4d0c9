/** @jsxImportSource hono/jsx */
import { EmptyState, PageHead } from "./components.tsx";

export interface Section {
  path: string;
  title: string;
  /** one sentence: what the section manages */
  what: string;
  /** what it will let you do */
  will: string[];
}

/** Sections whose features arrive in a later version; each says what it will manage, nothing more. */
export const SECTIONS: Section[] = [
  {
    path: "/fleets",
    title: "Fleets",
    what: "Fleets group bots so a change can roll out to many of them in waves.",
    will: [
      "group bots by label or by hand",
      "roll a change out in waves with a pause on failure",
      "see a fleet's health at a glance",
    ],
  },
  {
    path: "/changesets",
    title: "Change sets",
    what: "Change sets are reviewed, immutable revisions of desired state, applied by the reconciler.",
    will: ["review a diff before it is applied", "apply, watch and roll back a change set"],
  },
];

export function SectionPage(props: { section: Section }) {
  const s = props.section;
  return (
    <>
      <PageHead title={s.title} lead={s.what} />
      <EmptyState title={`${s.title} are not available in this version yet`}>
        <p>When this section arrives it will let you:</p>
        <ul>
          {s.will.map((w) => (
            <li>{w}</li>
          ))}
        </ul>
        <p class="small">
          Until then, nothing here is stored or simulated. Everything that is available is in the{" "}
          <a href="/api/docs">API reference</a>.
        </p>
      </EmptyState>
    </>
  );
}
