using System.Diagnostics;

namespace Sutazai.Server.Errors;

/// <summary>What every problem details answer carries: a stable type, the request path and the trace id.</summary>
internal static class ProblemDetailsDefaults
{
    public static void Apply(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var status = problem.Status ?? context.HttpContext.Response.StatusCode;
        if (problem.Type is null || problem.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
        {
            problem.Type = problem is HttpValidationProblemDetails ? ProblemTypes.Validation : ProblemTypes.ForStatus(status);
        }

        problem.Instance ??= context.HttpContext.Request.Path;
        // The framework adds a "traceId" in W3C header form; the bare trace id is what the logs show.
        problem.Extensions.Remove("traceId");
        problem.Extensions["trace_id"] = Activity.Current?.TraceId.ToHexString() ?? context.HttpContext.TraceIdentifier;
    }
}
