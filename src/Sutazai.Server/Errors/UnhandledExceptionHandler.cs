using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Sutazai.Server.Errors;

/// <summary>
/// The last resort: logs the failure with its stack trace and answers 500 with the trace id only, so
/// nothing about the server's insides reaches the client.
/// </summary>
internal sealed partial class UnhandledExceptionHandler(IProblemDetailsService problems, ILogger<UnhandledExceptionHandler> logger) : IExceptionHandler
{
    /// <summary>Not an HTTP status: the de facto code for a client that closed the request.</summary>
    private const int ClientClosedRequest = 499;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && httpContext.RequestAborted.IsCancellationRequested)
        {
            LogClientGone(httpContext.Request.Method, httpContext.Request.Path);
            httpContext.Response.StatusCode = ClientClosedRequest;
            return true;
        }

        LogUnhandled(exception, httpContext.Request.Method, httpContext.Request.Path);
        httpContext.Response.StatusCode = StatusCodes.Status500InternalServerError;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Type = ProblemTypes.Internal,
                Title = "An unexpected error occurred",
                Detail = "The server logged the error under this response's trace id; quote it when reporting the problem.",
            },
        });
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception serving {Method} {Path}")]
    private partial void LogUnhandled(Exception exception, string method, PathString path);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Client closed {Method} {Path} before it completed")]
    private partial void LogClientGone(string method, PathString path);
}
