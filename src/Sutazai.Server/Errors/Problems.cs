using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Sutazai.Server.Errors;

/// <summary>Problem details for the failures endpoints report themselves; written through the problem details service.</summary>
public static class Problems
{
    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found", type: ProblemTypes.NotFound);

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict", type: ProblemTypes.Conflict);

    public static ProblemHttpResult Forbidden(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: "Permission denied", type: ProblemTypes.Forbidden);

    public static ProblemHttpResult BadRequest(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Bad request", type: ProblemTypes.BadRequest);

    public static ProblemHttpResult Unauthorized(string type, string title, string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status401Unauthorized, title: title, type: type);

    /// <summary>A 400 with field errors, shaped like the framework's own validation problems.</summary>
    public static ValidationProblem Validation(string field, params string[] errors) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = errors }, type: ProblemTypes.Validation);

    public static ProblemHttpResult TooManyRequests(string detail, DateTimeOffset retryAt, DateTimeOffset now, HttpContext context)
    {
        context.Response.Headers.RetryAfter = RetryAfterSeconds(retryAt, now).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Problem(detail, statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests", type: ProblemTypes.TooManyRequests);
    }

    /// <summary>Writes a problem from middleware, where there is no endpoint result to return.</summary>
    public static ValueTask WriteAsync(HttpContext context, ProblemDetails problem)
    {
        context.Response.StatusCode = problem.Status ?? StatusCodes.Status400BadRequest;
        return context.RequestServices.GetRequiredService<IProblemDetailsService>()
            .WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
    }

    public static long RetryAfterSeconds(DateTimeOffset retryAt, DateTimeOffset now) => Math.Max(1, (long)Math.Ceiling((retryAt - now).TotalSeconds));
}
