using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Sutazai.Server.Errors;

/// <summary>
/// Turns requests the framework could not read (malformed JSON, wrong content type, a body over the limit,
/// unbindable parameters) into problem details that say what was wrong and where.
/// </summary>
internal sealed partial class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest)
        {
            return false;
        }

        var problem = Describe(badRequest);
        httpContext.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem });
    }

    private static ProblemDetails Describe(BadHttpRequestException badRequest)
    {
        if (FindJsonException(badRequest) is { } json)
        {
            var problem = new ProblemDetails
            {
                Status = StatusCodes.Status400BadRequest,
                Type = ProblemTypes.MalformedJson,
                Title = "The request body is not valid JSON for this endpoint",
                Detail = CleanJsonMessage(json.Message),
            };
            if (json.LineNumber is { } line)
            {
                // System.Text.Json counts from zero; people count lines and columns from one.
                problem.Extensions["line"] = line + 1;
                problem.Extensions["column"] = (json.BytePositionInLine ?? 0) + 1;
            }

            if (!string.IsNullOrEmpty(json.Path))
            {
                problem.Extensions["path"] = json.Path;
            }

            return problem;
        }

        return badRequest.StatusCode switch
        {
            StatusCodes.Status413PayloadTooLarge => new ProblemDetails
            {
                Status = StatusCodes.Status413PayloadTooLarge,
                Type = ProblemTypes.PayloadTooLarge,
                Title = "The request body is too large",
                Detail = badRequest.Message,
            },
            StatusCodes.Status415UnsupportedMediaType => new ProblemDetails
            {
                Status = StatusCodes.Status415UnsupportedMediaType,
                Type = ProblemTypes.UnsupportedMediaType,
                Title = "The request body has a content type this endpoint does not accept",
                Detail = badRequest.Message,
            },
            var status => new ProblemDetails
            {
                Status = status,
                Type = ProblemTypes.ForStatus(status),
                Title = "The request could not be read",
                Detail = badRequest.Message,
            },
        };
    }

    private static JsonException? FindJsonException(Exception exception)
    {
        for (var current = exception.InnerException; current is not null; current = current.InnerException)
        {
            if (current is JsonException json)
            {
                return json;
            }
        }

        return null;
    }

    /// <summary>Keeps the reason, drops the position (given separately) and the names of our .NET types.</summary>
    private static string CleanJsonMessage(string message)
    {
        var withoutPosition = PositionSuffix().Replace(message, "");
        var withoutTypes = DotNetTypeName().Replace(withoutPosition, "");
        return ConvertedToType().Replace(withoutTypes, "could not be converted to the type this field takes").Trim();
    }

    [GeneratedRegex(@"\s*Path: .*$", RegexOptions.Singleline)]
    private static partial Regex PositionSuffix();

    [GeneratedRegex(@"\s*(contained in|of) type '[^']*'")]
    private static partial Regex DotNetTypeName();

    [GeneratedRegex(@"could not be converted to \S+?(?=\.(\s|$))")]
    private static partial Regex ConvertedToType();
}
