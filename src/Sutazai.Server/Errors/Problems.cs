using Microsoft.AspNetCore.Http.HttpResults;

namespace Sutazai.Server.Errors;

/// <summary>Problem details for the failures endpoints report themselves; written through the problem details service.</summary>
public static class Problems
{
    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found", type: ProblemTypes.NotFound);
}
