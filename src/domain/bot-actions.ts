/** What an operator can ask of a running bot; the one list the API, the pages, the CLI and the service share. */
export const BOT_ACTIONS = ["start", "stop", "restart", "pause", "resume"] as const;
export type BotAction = (typeof BOT_ACTIONS)[number];
