/** @jsxImportSource hono/jsx */
import { EmptyState, PageHead } from "../components.tsx";

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
    will: ["group bots by label or by hand", "roll a change out in waves with a pause on failure", "see a fleet's health at a glance"],
  },
  {
    path: "/hosts",
    title: "Hosts",
    what: "Hosts are the targets bots run on: Docker engines, Linux and macOS machines over SSH, or this machine.",
    will: ["register a host and pin its SSH host key", "check reachability and capacity", "see which bots run where"],
  },
  {
    path: "/templates",
    title: "Templates",
    what: "Templates are the base configurations bots are built from, layered with profiles and per-bot overlays.",
    will: ["write and version templates", "see which setting comes from which layer", "preview the configuration a bot would get"],
  },
  {
    path: "/policies",
    title: "Policies",
    what: "Policy packs are rules every change is checked against before it is stored or applied.",
    will: ["enable policy packs per workspace", "see which rule blocked or warned about a change"],
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
          Until then, nothing here is stored or simulated. Everything that is available is in the <a href="/api/docs">API reference</a>.
        </p>
      </EmptyState>
    </>
  );
}
