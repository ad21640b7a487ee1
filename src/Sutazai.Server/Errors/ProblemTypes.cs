namespace Sutazai.Server.Errors;

/// <summary>
/// The stable <c>type</c> of every problem details answer (RFC 9457). Clients branch on these, never on
/// <c>title</c> or <c>detail</c> text.
/// </summary>
public static class ProblemTypes
{
    private const string Prefix = "urn:sutazai:problem:";

    public const string BadRequest = Prefix + "bad-request";
    public const string MalformedJson = Prefix + "malformed-json";
    public const string Validation = Prefix + "validation";
    public const string Unauthorized = Prefix + "unauthorized";
    public const string InvalidCredentials = Prefix + "invalid-credentials";
    public const string MfaRequired = Prefix + "mfa-required";
    public const string InvalidGrant = Prefix + "invalid-grant";
    public const string Forbidden = Prefix + "forbidden";
    public const string NotFound = Prefix + "not-found";
    public const string MethodNotAllowed = Prefix + "method-not-allowed";
    public const string Conflict = Prefix + "conflict";
    public const string PayloadTooLarge = Prefix + "payload-too-large";
    public const string UnsupportedMediaType = Prefix + "unsupported-media-type";
    public const string TooManyRequests = Prefix + "too-many-requests";
    public const string Internal = Prefix + "internal";
    public const string Unavailable = Prefix + "unavailable";
    public const string BackendFailed = Prefix + "backend-failed";

    /// <summary>The type for a status code when nothing more specific was chosen.</summary>
    public static string ForStatus(int status) => status switch
    {
        400 => BadRequest,
        401 => Unauthorized,
        403 => Forbidden,
        404 => NotFound,
        405 => MethodNotAllowed,
        409 => Conflict,
        413 => PayloadTooLarge,
        415 => UnsupportedMediaType,
        429 => TooManyRequests,
        503 => Unavailable,
        >= 500 => Internal,
        _ => $"{Prefix}http-{status}",
    };
}
