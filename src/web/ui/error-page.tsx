/** @jsxImportSource hono/jsx */
import { PageHead } from "./components.tsx";

const TITLES: Record<number, string> = {
  400: "That request could not be used",
  403: "Not allowed",
  404: "Not found",
  409: "Conflict",
  429: "Slow down",
  500: "Something went wrong",
  503: "Busy",
};

/** A page-level failure: what happened, and a way on. */
export function ErrorPage(props: { status: number; message: string; requestId?: string }) {
  return (
    <>
      <PageHead title={TITLES[props.status] ?? "Something went wrong"} />
      <div class="card">
        <p>{props.message}</p>
        {props.requestId && (
          <p class="small muted">
            Request id: <code>{props.requestId}</code>
          </p>
        )}
        <p>
          <a href="/">Back to the dashboard</a>
        </p>
      </div>
    </>
  );
}
