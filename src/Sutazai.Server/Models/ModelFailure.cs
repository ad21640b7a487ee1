using System.Globalization;
using Sutazai.Core.Models;
using Sutazai.Server.Errors;

namespace Sutazai.Server.Models;

/// <summary>How a failed model call is answered, whichever API it came through.</summary>
internal sealed record ModelFailure(int Status, string Title, string ProblemType)
{
    /// <summary>
    /// The answer for a failure the caller should hear about; a busy model, or a backend whose circuit is open,
    /// also gets Retry-After. Null for anything else.
    /// </summary>
    public static ModelFailure? Of(Exception e, HttpContext http)
    {
        var retryAfter = e switch
        {
            ModelBusyException => TimeSpan.FromSeconds(1),
            ModelBackendException { RetryAfter: { } wait } => wait,
            _ => (TimeSpan?)null,
        };
        if (retryAfter is { } after && !http.Response.HasStarted)
        {
            http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        return e switch
        {
            UnknownModelException => new(StatusCodes.Status404NotFound, "Not found", ProblemTypes.NotFound),
            ModelBusyException => new(StatusCodes.Status503ServiceUnavailable, "Model busy", ProblemTypes.Unavailable),
            ModelBackendException { RetryAfter: not null } => new(StatusCodes.Status503ServiceUnavailable, "Model backend unavailable", ProblemTypes.BackendFailed),
            ModelBackendException => new(StatusCodes.Status502BadGateway, "Model backend failed", ProblemTypes.BackendFailed),
            ModelCallCancelledException => new(StatusCodes.Status409Conflict, "Call stopped", ProblemTypes.Conflict),
            NotSupportedException => new(StatusCodes.Status400BadRequest, "Not supported", ProblemTypes.BadRequest),
            ArgumentException => new(StatusCodes.Status400BadRequest, "Bad request", ProblemTypes.BadRequest),
            _ => null,
        };
    }

    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult? Problem(Exception e, HttpContext http) =>
        Of(e, http) is { } failure ? TypedResults.Problem(e.Message, statusCode: failure.Status, title: failure.Title, type: failure.ProblemType) : null;
}
