/**
 * ApiError is what the client throws for every answer that is not a success:
 * the HTTP status and the problem details the API sent (`detail` is written
 * for people: show it). A failure to reach the API at all — offline, DNS, a
 * CORS refusal — is not an ApiError but the TypeError that fetch throws.
 */
export class ApiError extends Error {
    status;
    problem;
    /** The id under which the server logged the request; quote it in bug reports. */
    requestId;
    constructor(problem, requestId) {
        super(`${problem.status} ${problem.title}: ${problem.detail}`);
        this.name = "ApiError";
        this.status = problem.status;
        this.problem = problem;
        this.requestId = requestId;
    }
    /** The broken rules of a 422, empty for other errors. */
    get fieldErrors() {
        return this.problem.errors ?? [];
    }
    /** True for a 412: the task changed since it was read. Read it again, then retry or merge. */
    get isPreconditionFailed() {
        return this.status === 412;
    }
    /** True for the statuses where the same request may succeed later (429, 503). */
    get isRetryable() {
        return this.status === 429 || this.status === 503;
    }
}
/**
 * problemFrom reads an error response. A body that is not a problem (say, an
 * HTML page from a proxy in front of the API) still yields one, built from
 * the status, so callers handle a single shape.
 */
export async function problemFrom(res) {
    const requestId = res.headers.get("X-Request-ID");
    const text = await res.text().catch(() => "");
    const type = res.headers.get("Content-Type") ?? "";
    if (type.includes("json")) {
        try {
            const body = JSON.parse(text);
            if (typeof body.detail === "string" && typeof body.title === "string") {
                return new ApiError({
                    type: body.type ?? "about:blank",
                    title: body.title,
                    status: typeof body.status === "number" ? body.status : res.status,
                    detail: body.detail,
                    ...(Array.isArray(body.errors) ? { errors: body.errors } : {}),
                }, requestId);
            }
        }
        catch {
            // Not JSON after all: fall through to the generic problem.
        }
    }
    const title = res.statusText || `HTTP ${res.status}`;
    return new ApiError({ type: "about:blank", title, status: res.status, detail: `The server answered ${res.status} ${title}.` }, requestId);
}
