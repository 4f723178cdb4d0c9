/** @jsxImportSource hono/jsx */
import { MIN_PASSWORD } from "../../services/auth.ts";
import { Alert, Field, FormMessage, type FormState } from "../ui/components.tsx";

export function SetupPage(props: { form: FormState }) {
  const { form } = props;
  return (
    <>
      <h1>Claim this Molthub</h1>
      <p class="muted">
        Create the first owner account. The setup link from the server log is valid for one hour and works once.
      </p>
      <FormMessage form={form} fields={["token", "email", "name", "password", "workspaceName"]} />
      <form method="post" action="/setup" class="stack">
        <Field
          label="Setup token"
          name="token"
          form={form}
          required
          autocomplete="off"
          spellcheck="false"
          hint="From the setup URL the server printed when it started."
        />
        <Field label="Your name" name="name" form={form} required autocomplete="name" maxlength={100} />
        <Field label="Email" name="email" type="email" form={form} required autocomplete="email" maxlength={200} />
        <Field
          label="Password"
          name="password"
          type="password"
          form={form}
          required
          autocomplete="new-password"
          minlength={MIN_PASSWORD}
          hint={`At least ${MIN_PASSWORD} characters.`}
        />
        <Field
          label="Workspace name"
          name="workspaceName"
          form={form}
          optional
          maxlength={100}
          placeholder="Default"
          hint="The first workspace; you can rename it later."
        />
        <div class="form-actions">
          <button type="submit" class="btn-primary btn-block">
            Create owner and sign in
          </button>
        </div>
      </form>
    </>
  );
}

export function LoginPage(props: { form: FormState; next: string; setupPending: boolean; retryAfter?: number }) {
  const { form } = props;
  return (
    <>
      <h1>Sign in</h1>
      {props.setupPending && (
        <Alert kind="info" title="No users yet">
          Open the setup URL printed in the server log to create the first owner, or run{" "}
          <code>molthub user add --role owner</code> on the server.
        </Alert>
      )}
      <FormMessage form={form} fields={["email", "password"]} />
      <form method="post" action="/login" class="stack">
        {props.next !== "/" && <input type="hidden" name="next" value={props.next} />}
        <Field
          label="Email"
          name="email"
          type="email"
          form={form}
          required
          autocomplete="username"
          autofocus={!form.values.email}
          maxlength={200}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          form={form}
          required
          autocomplete="current-password"
          autofocus={!!form.values.email}
        />
        <div class="form-actions">
          <button type="submit" class="btn-primary btn-block">
            Sign in
          </button>
        </div>
      </form>
    </>
  );
}

export function TotpPage(props: { form: FormState; next: string }) {
  const { form } = props;
  return (
    <>
      <h1>Two-step verification</h1>
      <p class="muted">Enter the current 6-digit code from your authenticator app.</p>
      <FormMessage form={form} fields={["code"]} />
      <form method="post" action="/login/totp" class="stack">
        {props.next !== "/" && <input type="hidden" name="next" value={props.next} />}
        <Field
          label="Code"
          name="code"
          form={form}
          required
          autocomplete="one-time-code"
          inputmode="numeric"
          pattern="[0-9]{6}"
          maxlength={6}
          autofocus
          spellcheck="false"
        />
        <div class="form-actions">
          <button type="submit" class="btn-primary btn-block">
            Verify
          </button>
        </div>
      </form>
      <form method="post" action="/logout" class="form-actions">
        <button type="submit" class="btn-ghost btn-block">
          Cancel and sign out
        </button>
      </form>
    </>
  );
}
