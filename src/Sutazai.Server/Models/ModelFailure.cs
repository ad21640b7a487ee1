using Sutazai.Core.Models;
using Sutazai.Server.Errors;

namespace Sutazai.Server.Models;

/// <summary>How a failed model call is answered, whichever API it came through.</summary>
internal sealed record ModelFailure(int Status, string Title, string ProblemType)
{
    /// <summary>The answer for a failure the caller should hear about (a busy model also gets Retry-After); null for anything else.</summary>
    public static ModelFailure? Of(Exception e, HttpContext http)
    {
        if (e is ModelBusyException)
        {
            http.Response.Headers.RetryAfter = "1";
        }

        return e switch
        {
            UnknownModelException => new(StatusCodes.Status404NotFound, "Not found", ProblemTypes.NotFound),
            ModelBusyException => new(StatusCodes.Status503ServiceUnavailable, "Model busy", ProblemTypes.Unavailable),
            ModelBackendException => new(StatusCodes.Status502BadGateway, "Model backend failed", ProblemTypes.BackendFailed),
            ArgumentException => new(StatusCodes.Status400BadRequest, "Bad request", ProblemTypes.BadRequest),
            _ => null,
        };
    }
}
