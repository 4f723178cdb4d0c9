/** @jsxImportSource hono/jsx */
import { MIN_PASSWORD } from "../../services/auth.ts";
import { Alert, CopyButton, Field, FormMessage, type FormState } from "../ui/components.tsx";
import { SettingsFrame } from "./frame.tsx";

/** The Account tab: the signed-in user's password and two-step verification. */

export type TotpState =
  | { mode: "off" | "on"; form: FormState }
  /** enrolment started: the secret is shown this once */
  | { mode: "enrol"; secret: string; uri: string; form: FormState }
  /** a confirm attempt failed; the secret is not shown again */
  | { mode: "confirm"; form: FormState };

function TotpConfirmForm(props: { form: FormState }) {
  return (
    <form method="post" action="/settings/account/totp/confirm" class="stack">
      <FormMessage form={props.form} fields={["code"]} />
      <Field
        label="Code from your app"
        name="code"
        form={props.form}
        required
        autocomplete="one-time-code"
        inputmode="numeric"
        pattern="[0-9]{6}"
        maxlength={6}
      />
      <div class="form-actions">
        <button type="submit" class="btn-primary">
          Turn on two-step verification
        </button>
      </div>
    </form>
  );
}

export function AccountPage(props: {
  user: { email: string; name: string; totpEnabled: boolean };
  password: FormState;
  totp: TotpState;
}) {
  const { user, totp } = props;
  return (
    <SettingsFrame path="/settings/account">
      <div class="grid-2">
        <section class="card" aria-labelledby="profile-h">
          <h2 id="profile-h">Profile</h2>
          <dl class="kv">
            <dt>Name</dt>
            <dd>{user.name}</dd>
            <dt>Email</dt>
            <dd>{user.email}</dd>
            <dt>Two-step</dt>
            <dd>{user.totpEnabled ? <span class="badge badge-ok">on</span> : <span class="badge badge-warn">off</span>}</dd>
          </dl>
        </section>

        <section class="card" aria-labelledby="pw-h">
          <h2 id="pw-h">Change password</h2>
          <p class="card-sub">Your other sessions and all your API tokens stop working; this session stays signed in.</p>
          <FormMessage form={props.password} fields={["currentPassword", "newPassword", "confirmPassword"]} />
          <form method="post" action="/settings/account/password" class="stack">
            <Field
              label="Current password"
              name="currentPassword"
              type="password"
              form={props.password}
              required
              autocomplete="current-password"
            />
            <Field
              label="New password"
              name="newPassword"
              type="password"
              form={props.password}
              required
              autocomplete="new-password"
              minlength={MIN_PASSWORD}
              hint={`At least ${MIN_PASSWORD} characters.`}
            />
            <Field
              label="Repeat the new password"
              name="confirmPassword"
              type="password"
              form={props.password}
              required
              autocomplete="new-password"
            />
            <div class="form-actions">
              <button type="submit" class="btn-primary">
                Change password
              </button>
            </div>
          </form>
        </section>
      </div>

      <section class="card section" aria-labelledby="totp-h">
        <h2 id="totp-h">Two-step verification</h2>
        {totp.mode === "on" && (
          <>
            <p class="card-sub">On. Signing in asks for a code from your authenticator app after the password.</p>
            <FormMessage form={totp.form} fields={["password"]} />
            <form
              method="post"
              action="/settings/account/totp/disable"
              class="stack"
              data-confirm="Turn off two-step verification?"
            >
              <Field
                label="Password"
                name="password"
                id="totp-off-password"
                type="password"
                form={totp.form}
                required
                autocomplete="current-password"
                hint="Confirm with your password to turn it off."
              />
              <div class="form-actions">
                <button type="submit" class="btn-danger">
                  Turn off two-step verification
                </button>
              </div>
            </form>
          </>
        )}
        {totp.mode === "off" && (
          <>
            <p class="card-sub">Off. With it on, signing in also needs a 6-digit code from an authenticator app (TOTP).</p>
            <FormMessage form={totp.form} />
            <form method="post" action="/settings/account/totp">
              <button type="submit" class="btn-primary">
                Set up two-step verification
              </button>
            </form>
          </>
        )}
        {totp.mode === "enrol" && (
          <>
            <Alert kind="warn" title="Add this key to your authenticator app now.">
              It is shown only on this page. Enter it by hand, or paste the otpauth link into an app that accepts one.
            </Alert>
            <p class="label">Secret key</p>
            <div class="secret-box">
              <code id="totp-secret">{totp.secret}</code>
              <CopyButton target="totp-secret" />
            </div>
            <p class="label">otpauth link</p>
            <div class="secret-box">
              <code id="totp-uri">{totp.uri}</code>
              <CopyButton target="totp-uri" />
            </div>
            <TotpConfirmForm form={totp.form} />
          </>
        )}
        {totp.mode === "confirm" && (
          <>
            <TotpConfirmForm form={totp.form} />
            <form method="post" action="/settings/account/totp" class="form-actions">
              <span class="muted small">Lost the key?</span>
              <button type="submit" class="btn-sm">
                Start over with a new key
              </button>
            </form>
          </>
        )}
      </section>
    </SettingsFrame>
  );
}
