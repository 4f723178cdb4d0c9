import { z } from "@hono/zod-openapi";

/** The stream takes no parameters; any given are accepted and ignored. */
export const EventsQuery = z.object({}).passthrough();
