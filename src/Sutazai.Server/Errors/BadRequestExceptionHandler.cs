using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Sutazai.Core.Definitions;

namespace Sutazai.Server.Errors;

/// <summary>
/// Turns requests the framework could not read (malformed JSON, wrong content type, a body over the limit,
/// unbindable parameters) into problem details that say what was wrong and where.
/// </summary>
internal sealed class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
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
                Detail = JsonReason.Of(json),
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
}
