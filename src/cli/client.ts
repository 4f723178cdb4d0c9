import type { Evaluation } from "./findings.ts";
import { CliError } from "./io.ts";

interface ApiErrorBody {
  code: string;
  message: string;
  details?: { path: string; message: string }[] | { issues: { path: string; message: string }[]; policy: Evaluation };
}

export interface ClientOptions {
  server?: string;
  token?: string;
  timeoutMs?: number;
}

/**
 * A small client for the JSON API, used by the CLI's client commands. The server comes from --server or
 * MOLTHUB_URL, the token from --token or MOLTHUB_TOKEN. Every call has a timeout.
 */
export class ApiClient {
  readonly base: string;
  private cookie?: string;
  constructor(
    private readonly opts: ClientOptions,
    env: Record<string, string | undefined> = process.env,
  ) {
    const server = opts.server ?? env.MOLTHUB_URL ?? "http://127.0.0.1:8080";
    this.base = server.replace(/\/$/, "");
    this.opts = { ...opts, token: opts.token ?? env.MOLTHUB_TOKEN };
  }

  get hasToken(): boolean {
    return !!this.opts.token;
  }

  async login(email: string, password: string): Promise<void> {
    const res = await this.raw("POST", "/api/v1/auth/login", { email, password });
    const body = (await res.json()) as { mfaRequired?: boolean; error?: { message: string } };
    if (!res.ok) throw new CliError(`sign-in failed: ${body.error?.message ?? res.status}`);
    if (body.mfaRequired)
      throw new CliError("this account has a second factor; create the token in the web UI (Settings → API tokens) instead");
    this.cookie = res.headers.get("set-cookie")?.split(";")[0];
  }

  private async raw(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    else if (this.cookie) {
      headers.cookie = this.cookie;
      headers.origin = this.base;
    }
    try {
      return await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (e) {
      const name = (e as Error).name;
      if (name === "TimeoutError")
        throw new CliError(`${this.base} did not answer within ${(this.opts.timeoutMs ?? 30_000) / 1000} s`);
      throw new CliError(
        `cannot reach ${this.base} (${(e as Error).message}); is the server running? Set --server or MOLTHUB_URL`,
      );
    }
  }

  async text(path: string): Promise<string> {
    const res = await this.raw("GET", path);
    const body = await res.text();
    if (!res.ok) {
      let msg = `HTTP ${res.status}`;
      try {
        msg = (JSON.parse(body) as { error: { message: string } }).error.message;
      } catch {
        // not JSON
      }
      throw new CliError(msg);
    }
    return body;
  }

  /** Server-sent events from a GET endpoint, until the server ends the stream. */
  async *sse(path: string): AsyncGenerator<{ event: string; data: string }> {
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    const res = await fetch(this.base + path, { headers });
    if (!res.ok || !res.body) throw new CliError(`stream failed: HTTP ${res.status} ${await res.text()}`);
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let event = "message";
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        yield { event, data: data.join("\n") };
      }
    }
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      throw new CliError(`${method} ${path}: the server answered ${res.status} with something that is not JSON`);
    }
    if (!res.ok) {
      const err = (parsed as { error?: ApiErrorBody }).error;
      // `details` is the list of issues, or {issues, policy} when a policy refused the change
      const policy = err?.details && !Array.isArray(err.details) ? err.details.policy : undefined;
      const issues = Array.isArray(err?.details) ? err.details : [];
      const details = issues.length ? `\n${issues.map((d) => `  ${d.path}: ${d.message}`).join("\n")}` : "";
      const hint = res.status === 401 && !this.opts.token ? " (pass --token or set MOLTHUB_TOKEN)" : "";
      throw new CliError(`${err?.message ?? `HTTP ${res.status}`}${hint}${details}`, 1, {
        code: err?.code ?? `http_${res.status}`,
        policy,
      });
    }
    return parsed as T;
  }
}
