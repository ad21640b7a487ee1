using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Sutazai.Server.Identity;

/// <summary>
/// Declares the bearer-token and API-key schemes in the OpenAPI document and, on each protected operation,
/// which credential and permission it needs, so the explorer at <c>/docs</c> can authorize requests.
/// </summary>
internal static class OpenApiSecurity
{
    public const string BearerScheme = "Bearer";
    public const string ApiKeyScheme = "ApiKey";

    public static OpenApiOptions AddSutazaiSecurity(this OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "An access token from POST /api/v1/auth/token. An API key (szk_...) is accepted here too.",
            };
            document.Components.SecuritySchemes[ApiKeyScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyAuthenticationHandler.HeaderName,
                Description = "An API key from POST /api/v1/api-keys.",
            };
            return Task.CompletedTask;
        });

        options.AddOperationTransformer((operation, context, _) =>
        {
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            if (metadata.OfType<IAllowAnonymous>().Any())
            {
                return Task.CompletedTask;
            }

            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] });
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, context.Document)] = [] });
            operation.Responses ??= [];
            operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No credential, or one that is expired, revoked or malformed (problem details)." });
            operation.Responses.TryAdd("429", new OpenApiResponse { Description = "Rate limit reached; see Retry-After (problem details)." });
            if (metadata.OfType<RequiredPermission>().FirstOrDefault()?.Permission is { } permission)
            {
                operation.Responses.TryAdd("403", new OpenApiResponse { Description = $"The caller lacks the permission '{permission}' (problem details)." });
                operation.Description = $"{operation.Description}\n\nRequires the permission `{permission}`.".Trim();
            }

            return Task.CompletedTask;
        });
        return options;
    }
}
