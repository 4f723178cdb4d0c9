/**
 * POSIX shell quoting for commands that run through a remote login shell (ssh exec always goes through one).
 *
 * Every argument is passed as exactly one word: anything that is not a plain "safe" word is wrapped in single
 * quotes, where the shell interprets nothing, and an embedded single quote becomes `'\''`. A NUL byte cannot be
 * represented in a C string argv at all, so it is refused instead of being silently truncated by the remote side.
 *
 * Option injection (`-rf`, `--foo=`) is a separate problem: a quoted `-x` is still an option to the program that
 * receives it. Callers put `--` before user values where the program supports it, or call `assertNotOption`.
 *
 * Assumes a POSIX-family login shell on the remote side (sh, bash, dash, zsh, ksh): the accounts the providers
 * use are created with one.
 */

export class ShellQuoteError extends Error {
  override name = "ShellQuoteError";
}

/** Words that need no quoting in any POSIX shell position (no `=`: a leading `a=b` word is an assignment). */
const SAFE_WORD = /^[A-Za-z0-9_@%+:,./-]+$/;

/** Quote one argument for a POSIX shell. Refuses NUL bytes (they cannot travel in argv). */
export function quoteArg(value: string, index?: number): string {
  if (typeof value !== "string") {
    throw new ShellQuoteError(`argument ${index ?? 0} is a ${typeof value}, not a string`);
  }
  if (value.includes("\0")) {
    throw new ShellQuoteError(
      `argument ${index ?? 0} contains a NUL byte, which cannot be passed to a command; remove it from the value`,
    );
  }
  if (value === "") return "''";
  if (SAFE_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Quote an argv as one POSIX shell command line: each element is exactly one word, interpreted by nothing. */
export function shellQuote(argv: readonly string[]): string {
  if (!Array.isArray(argv) || argv.length === 0) throw new ShellQuoteError("empty command: argv needs at least one element");
  return argv.map((a, i) => quoteArg(a, i)).join(" ");
}

/** Environment variable names that may be set for a remote command. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The remote command line for argv with optional environment: `exec [env NAME=value… --]? argv…`.
 * `exec` replaces the login shell with the command, so a channel signal (timeout, cancel) reaches the command
 * itself. Values are quoted; names are validated.
 */
export function buildRemoteCommand(argv: readonly string[], env?: Readonly<Record<string, string>>): string {
  const cmd = shellQuote(argv);
  const entries = Object.entries(env ?? {});
  if (entries.length === 0) return `exec ${cmd}`;
  const assigns = entries.map(([k, v]) => {
    if (!ENV_NAME.test(k)) throw new ShellQuoteError(`invalid environment variable name ${JSON.stringify(k)}`);
    return quoteArg(`${k}=${v}`);
  });
  // `env` treats an argv[0] containing "=" as another assignment: refuse that instead of running something else.
  if (argv[0]!.includes("=")) throw new ShellQuoteError(`command name ${JSON.stringify(argv[0])} must not contain "="`);
  return `exec env ${assigns.join(" ")} ${cmd}`;
}

/**
 * Refuse a user value that a program would read as an option (`-x`, `--foo=`). Use where `--` cannot be placed
 * before the value. `field` names the value in the error so the user knows what to change.
 */
export function assertNotOption(value: string, field: string): void {
  if (typeof value !== "string") throw new ShellQuoteError(`${field} must be a string`);
  if (value.startsWith("-")) {
    throw new ShellQuoteError(
      `${field} must not start with "-" (it would be read as a command-line option): ${JSON.stringify(value)}`,
    );
  }
}
