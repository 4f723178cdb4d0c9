/** @jsxImportSource hono/jsx */
import { Alert, PageHead } from "../ui/components.tsx";

export interface DocField {
  name: string;
  /** where a parameter goes: path, query, header, cookie */
  in?: string;
  type: string;
  /** a named schema the type refers to, linked to its section */
  ref?: string;
  required: boolean;
  notes: string;
}

interface DocResponse {
  status: string;
  description: string;
  type: string;
  ref?: string;
  /** the top-level fields of an inline object body */
  shape?: { name: string; type: string; ref?: string; required: boolean }[];
}

export interface DocOperation {
  id: string;
  method: string;
  path: string;
  summary: string;
  description: string;
  access: string;
  params: DocField[];
  body: { contentType: string; fields: DocField[]; type: string; ref?: string; strict: boolean } | null;
  responses: DocResponse[];
}

export interface DocModel {
  title: string;
  version: string;
  description: string;
  groups: { tag: string; id: string; operations: DocOperation[] }[];
  schemes: { name: string; text: string }[];
  schemas: { name: string; type: string; fields: DocField[] }[];
}

function accessText(access: string): string {
  if (access === "public") return "public";
  if (access === "user") return "signed in";
  if (!access) return "unspecified";
  return `${access}+`;
}

function accessTitle(access: string): string {
  if (access === "public") return "No sign-in needed";
  if (access === "user") return "Any signed-in user or API token";
  return `Needs the ${access} role or a higher one in the current workspace`;
}

function TypeRef(props: { type: string; ref?: string }) {
  if (props.ref) return <a href={`#schema-${props.ref}`}>{props.type}</a>;
  return <>{props.type}</>;
}

function FieldTable(props: { fields: DocField[]; caption: string; showIn?: boolean }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            {props.showIn && <th scope="col">In</th>}
            <th scope="col">Type</th>
            <th scope="col">Required</th>
            <th scope="col">Notes</th>
          </tr>
        </thead>
        <tbody>
          {props.fields.map((f) => (
            <tr>
              <td>
                <code>{f.name}</code>
              </td>
              {props.showIn && <td>{f.in}</td>}
              <td class="mono">
                <TypeRef type={f.type} ref={f.ref} />
              </td>
              <td>{f.required ? "yes" : <span class="muted">no</span>}</td>
              <td>{f.notes}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Operation(props: { op: DocOperation }) {
  const op = props.op;
  return (
    <details class="op" id={op.id}>
      <summary>
        <span class={`method method-${op.method}`}>{op.method}</span>
        <span class="op-path">{op.path}</span>
        <span class="op-summary">{op.summary}</span>
        <span class={`badge ${op.access === "public" ? "badge-ok" : ""}`} title={accessTitle(op.access)}>
          {accessText(op.access)}
        </span>
      </summary>
      <div class="op-body">
        {op.description && <p>{op.description}</p>}
        <p class="small muted">Access: {accessTitle(op.access)}.</p>
        {op.params.length > 0 && (
          <>
            <h4>Parameters</h4>
            <FieldTable fields={op.params} caption={`Parameters of ${op.method} ${op.path}`} showIn />
          </>
        )}
        {op.body && (
          <>
            <h4>Request body</h4>
            <p class="small">
              <code>{op.body.contentType}</code>, <TypeRef type={op.body.type} ref={op.body.ref} />
              {op.body.strict && <span class="muted"> — unknown fields are refused</span>}
            </p>
            {op.body.fields.length > 0 && (
              <FieldTable fields={op.body.fields} caption={`Request body of ${op.method} ${op.path}`} />
            )}
          </>
        )}
        <h4>Responses</h4>
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Responses of {`${op.method} ${op.path}`}</caption>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Meaning</th>
                <th scope="col">Body</th>
              </tr>
            </thead>
            <tbody>
              {op.responses.map((r) => (
                <tr>
                  <td>
                    <code>{r.status}</code>
                  </td>
                  <td>{r.description}</td>
                  <td class="mono">
                    {r.shape && r.shape.length > 0 ? (
                      <>
                        {"{ "}
                        {r.shape.map((f, i) => (
                          <>
                            {i > 0 && ", "}
                            {f.name}
                            {f.required ? "" : "?"}: <TypeRef type={f.type} ref={f.ref} />
                          </>
                        ))}
                        {" }"}
                      </>
                    ) : r.type ? (
                      <TypeRef type={r.type} ref={r.ref} />
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </details>
  );
}

/** The API reference, rendered from the app's own OpenAPI document. */
export function ApiDocsPage(props: { model: DocModel | null }) {
  const m = props.model;
  if (!m) {
    return (
      <>
        <PageHead title="API reference" />
        <Alert kind="warn" title="The API description is not available in this build.">
          The machine-readable document may still be served at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.
        </Alert>
      </>
    );
  }
  return (
    <>
      <PageHead title="API reference" lead={`${m.title} ${m.version}. ${m.description}`}>
        <a class="btn btn-sm" href="/api/v1/openapi.json">
          OpenAPI document (JSON)
        </a>
      </PageHead>
      <section class="card" aria-labelledby="auth-h">
        <h2 id="auth-h">Authentication</h2>
        <p>
          Requests are made as a signed-in browser session or with an API token. Create a token under{" "}
          <a href="/settings/tokens">Settings → API tokens</a>; it acts in the workspace it was created in.
        </p>
        <ul>
          {m.schemes.map((s) => (
            <li>
              <strong>{s.name}</strong>: {s.text}
            </li>
          ))}
        </ul>
        <p class="small muted">
          The access badge on each operation shows who may call it: <em>public</em>, <em>signed in</em>, or the least role (
          <em>viewer+</em>, <em>admin+</em> …) in the current workspace.
        </p>
      </section>

      <nav aria-label="API sections" class="section">
        <ul class="toc">
          {m.groups.map((g) => (
            <li>
              <a href={`#${g.id}`}>
                {g.tag} <span class="muted">({g.operations.length})</span>
              </a>
            </li>
          ))}
          {m.schemas.length > 0 && (
            <li>
              <a href="#schemas">schemas</a>
            </li>
          )}
        </ul>
      </nav>

      {m.groups.map((g) => (
        <section class="tag-section" id={g.id} aria-labelledby={`${g.id}-h`}>
          <h2 id={`${g.id}-h`}>{g.tag}</h2>
          {g.operations.map((op) => (
            <Operation op={op} />
          ))}
        </section>
      ))}

      {m.schemas.length > 0 && (
        <section class="tag-section" id="schemas" aria-labelledby="schemas-h">
          <h2 id="schemas-h">Schemas</h2>
          {m.schemas.map((s) => (
            <section class="op" id={`schema-${s.name}`} aria-labelledby={`schema-${s.name}-h`}>
              <div class="op-body">
                <h3 id={`schema-${s.name}-h`} class="section">
                  {s.name} <span class="muted mono small">{s.type}</span>
                </h3>
                {s.fields.length > 0 && <FieldTable fields={s.fields} caption={`Fields of ${s.name}`} />}
              </div>
            </section>
          ))}
        </section>
      )}
    </>
  );
}
