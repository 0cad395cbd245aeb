import type { components } from "./schema.js";
/** An RFC 9457 problem detail, as every todo-api error body is. */
export type Problem = components["schemas"]["Problem"];
/** One broken rule of a 422. */
export type FieldError = components["schemas"]["FieldError"];
/**
 * ApiError is what the client throws for every answer that is not a success:
 * the HTTP status and the problem details the API sent (`detail` is written
 * for people: show it). A failure to reach the API at all — offline, DNS, a
 * CORS refusal — is not an ApiError but the TypeError that fetch throws.
 */
export declare class ApiError extends Error {
    readonly status: number;
    readonly problem: Problem;
    /** The id under which the server logged the request; quote it in bug reports. */
    readonly requestId: string | null;
    constructor(problem: Problem, requestId: string | null);
    /** The broken rules of a 422, empty for other errors. */
    get fieldErrors(): FieldError[];
    /** True for a 412: the task changed since it was read. Read it again, then retry or merge. */
    get isPreconditionFailed(): boolean;
    /** True for the statuses where the same request may succeed later (429, 503). */
    get isRetryable(): boolean;
}
/**
 * problemFrom reads an error response. A body that is not a problem (say, an
 * HTML page from a proxy in front of the API) still yields one, built from
 * the status, so callers handle a single shape.
 */
export declare function problemFrom(res: Response): Promise<ApiError>;
