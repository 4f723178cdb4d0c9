import { z } from "@hono/zod-openapi";
import { IssueSchema, PolicyEvaluationSchema } from "./schemas.ts";

/** A policy refusal (422 policy_blocked): the issues and the whole evaluation, every violation with its fix. */
const PolicyRefusalSchema = z.object({ issues: z.array(IssueSchema), policy: PolicyEvaluationSchema }).openapi("PolicyRefusal");

/** `details` of an error (core/errors.ts WireDetails): the list of issues, or `{issues, policy}` when a policy refused. */
const ErrorDetailsSchema = z.union([z.array(IssueSchema), PolicyRefusalSchema]).openapi("ErrorDetails");
export type ErrorDetails = z.input<typeof ErrorDetailsSchema>;

const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "invalid_request" }),
      message: z.string(),
      details: ErrorDetailsSchema.optional(),
    }),
  })
  .openapi("Error");

/** A documented error response (every error has the Error shape). */
export function errorResponse(description: string) {
  return { description, content: { "application/json": { schema: ErrorSchema } } };
}

export const errorResponses = {
  400: errorResponse("Invalid input; details lists each bad field"),
  401: errorResponse("Not signed in"),
  403: errorResponse("Role too low"),
  404: errorResponse("Not found (also for another workspace's ids)"),
};
