using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Identity;
using Sutazai.Persistence;
using Sutazai.Server.Api;
using Sutazai.Server.Audit;
using Sutazai.Server.Errors;

namespace Sutazai.Server.Identity;

/// <summary>API keys for programs: created with a scope no wider than the creator's, shown once, stored hashed.</summary>
public static class ApiKeysApi
{
    private static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(3650);

    public static RouteGroupBuilder MapApiKeysApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/api-keys").WithTags("API keys");
        api.MapPost("/", CreateAsync).RequireSignedIn().Audited("apikey.create", "api_key")
            .WithSummary("Create an API key; the key is in this response only");
        api.MapGet("/", ListAsync).RequireSignedIn().WithSummary("Your API keys; with all=true and user:view, everyone's");
        api.MapGet("/{id:guid}", GetAsync).RequireSignedIn().WithSummary("One of your API keys; with user:view, anyone's");
        api.MapDelete("/{id:guid}", RevokeAsync).RequireSignedIn().Audited("apikey.revoke", "api_key")
            .WithSummary("Revoke one of your API keys; with user:update, anyone's");
        return api;
    }

    private static async Task<Results<Created<CreatedApiKeyView>, ValidationProblem>> CreateAsync(
        CreateApiKeyRequest request, ClaimsPrincipal caller, SutazaiDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var held = caller.PermissionsOf();
        var scopes = request.Scopes.Select(s => s.Trim()).Distinct(StringComparer.Ordinal).ToList();
        var errors = new Dictionary<string, string[]>();
        if (scopes.Except(Permissions.All).ToList() is { Count: > 0 } unknown)
        {
            errors["scopes"] = [$"Unknown permission(s): {string.Join(", ", unknown)}."];
        }
        else if (scopes.Where(s => !held.Contains(s)).ToList() is { Count: > 0 } notHeld)
        {
            errors["scopes"] = [$"A key cannot do more than its creator: you do not hold {string.Join(", ", notHeld)}."];
        }

        if (request.ExpiresAt is { } expires && (expires <= now || expires > now + MaxLifetime))
        {
            errors["expires_at"] = ["Use a time in the future, at most ten years ahead."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, type: ProblemTypes.Validation);
        }

        var secret = OpaqueTokens.NewApiKey();
        var key = new ApiKey
        {
            UserId = caller.UserId(),
            Name = request.Name.Trim(),
            Prefix = secret[..12],
            KeyHash = OpaqueTokens.Hash(secret),
            Scopes = scopes,
            CreatedAt = now,
            ExpiresAt = request.ExpiresAt,
        };
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/v1/api-keys/{key.Id}", new CreatedApiKeyView(ApiKeyView.From(key), secret));
    }

    private static async Task<Results<Ok<Page<ApiKeyView>>, ProblemHttpResult>> ListAsync(
        [AsParameters] PageQuery page, ClaimsPrincipal caller, SutazaiDbContext db, [FromQuery(Name = "all")] bool? all, CancellationToken cancellationToken)
    {
        if (all == true && !caller.HasPermission(Permissions.UserView))
        {
            return Problems.Forbidden("Listing everyone's API keys needs the permission 'user:view'.");
        }

        var userId = caller.UserId();
        var query = db.ApiKeys.AsNoTracking().Where(k => all == true || k.UserId == userId);
        var total = await query.CountAsync(cancellationToken);
        var keys = await query.OrderByDescending(k => k.CreatedAt).Skip(page.Offset).Take(page.Limit).ToListAsync(cancellationToken);
        return TypedResults.Ok(new Page<ApiKeyView>([.. keys.Select(ApiKeyView.From)], total, page.Limit, page.Offset));
    }

    private static async Task<Results<Ok<ApiKeyView>, ProblemHttpResult>> GetAsync(Guid id, ClaimsPrincipal caller, SutazaiDbContext db, CancellationToken cancellationToken)
    {
        var key = await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Id == id, cancellationToken);
        return key is not null && (key.UserId == caller.UserId() || caller.HasPermission(Permissions.UserView))
            ? TypedResults.Ok(ApiKeyView.From(key))
            : Problems.NotFound($"You have no API key {id}.");
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(
        Guid id, ClaimsPrincipal caller, SutazaiDbContext db, AuthStateStore state, TimeProvider time, CancellationToken cancellationToken)
    {
        var key = await db.ApiKeys.SingleOrDefaultAsync(k => k.Id == id, cancellationToken);
        if (key is null || (key.UserId != caller.UserId() && !caller.HasPermission(Permissions.UserUpdate)))
        {
            return Problems.NotFound($"You have no API key {id}.");
        }

        key.RevokedAt ??= time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        state.ForgetApiKey(key.KeyHash);
        return TypedResults.NoContent();
    }
}

public sealed record CreateApiKeyRequest(
    [property: Required, StringLength(200, MinimumLength = 1)] string Name,
    [property: Required, MaxLength(64)] IReadOnlyList<string> Scopes,
    DateTimeOffset? ExpiresAt = null);

public sealed record ApiKeyView(
    Guid Id, Guid UserId, string Name, string Prefix, IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt)
{
    public static ApiKeyView From(ApiKey key) =>
        new(key.Id, key.UserId, key.Name, key.Prefix, key.Scopes, key.CreatedAt, key.ExpiresAt, key.LastUsedAt, key.RevokedAt);
}

/// <param name="Key">The secret itself. It is not stored and cannot be shown again.</param>
public sealed record CreatedApiKeyView(ApiKeyView ApiKey, string Key);
