/** @jsxImportSource hono/jsx */
import type { BotSecretView } from "../../services/bots.ts";

/**
 * The secrets a bot uses: the version its gateway was started with against the vault's current one. A new
 * value reaches a running gateway only with a restart, so until then the row says "secret outdated" with the
 * rollout's progress; the state is said in words, the colour only repeats it.
 */
export function BotSecretsPanel(props: { secrets: BotSecretView[] }) {
  if (props.secrets.length === 0) return <p class="muted">This bot uses no secret from the vault.</p>;
  const outdated = props.secrets.filter((s) => s.outdated);
  return (
    <>
      {outdated.length > 0 && (
        <p class="secret-outdated" role="status">
          {outdated.map((s) => (
            <span class="badge badge-warn">{s.message}</span>
          ))}
        </p>
      )}
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Secrets and the versions the gateway runs</caption>
          <thead>
            <tr>
              <th scope="col">Secret</th>
              <th scope="col">Env vars</th>
              <th scope="col">Running</th>
              <th scope="col">Vault</th>
              <th scope="col">Delivery</th>
            </tr>
          </thead>
          <tbody>
            {props.secrets.map((s) => (
              <tr>
                <th scope="row">
                  <a href={`/secrets/${s.secret}`}>
                    <code>{s.secret}</code>
                  </a>
                </th>
                <td>{s.env.join(", ")}</td>
                <td>
                  {s.running === null ? (
                    <span class="muted" title="nothing runs, or it started before versions were recorded">
                      —
                    </span>
                  ) : (
                    `v${s.running}`
                  )}
                </td>
                <td>{s.current === null ? <span class="badge badge-danger">missing</span> : `v${s.current}`}</td>
                <td>
                  {s.outdated ? (
                    <span class="badge badge-warn">outdated</span>
                  ) : s.running !== null ? (
                    <span class="badge badge-ok">current</span>
                  ) : (
                    <span class="muted">—</span>
                  )}
                  {s.rollout && s.rollout.state !== "delivered" && (
                    <span class="muted small">
                      {" "}
                      v{s.rollout.version} {s.rollout.state}: {s.rollout.message}
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
