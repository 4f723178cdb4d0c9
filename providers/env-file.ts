/**
 * Reading back a bot's 0600 env file (the KEY=value lines `renderEnvFile` of src/domain/openclaw-config.ts writes):
 * the local provider merges it into the gateway's environment at spawn time, the Docker provider into the
 * container's. Values are literal to the end of the line (no quotes, no escapes), like Docker's --env-file and
 * systemd's EnvironmentFile for such values.
 */

/** The entries of an env file; a line without KEY=value means the file was edited by hand and is refused. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (!line.trim() || line.trimStart().startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error("the env file has a line without KEY=value; rewrite it with configure()");
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}
