using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sutazai.Agents.Llm;
using Sutazai.Core.Agents;
using Sutazai.Core.Definitions;
using Sutazai.Core.Identity;
using Sutazai.Persistence;
using Sutazai.Server.Api;
using Sutazai.Server.Audit;
using Sutazai.Server.Errors;
using Sutazai.Server.Identity;

namespace Sutazai.Server.Agents;

/// <summary>The agent registry: the built-in agents and external agents registered at run time.</summary>
public static partial class AgentsApi
{
    public static RouteGroupBuilder MapAgentsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/agents").WithTags("Agents");
        api.MapGet("/", ListAsync).RequirePermission(Permissions.AgentView).WithSummary("List agents, built-in first, then by name");
        api.MapGet("/{name}", GetAsync).RequirePermission(Permissions.AgentView).WithSummary("Get one agent by name, with its actions, health and load");
        api.MapPost("/", CreateAsync).RequirePermission(Permissions.AgentCreate).Audited("agent.create", "agent")
            .Accepts<CreateAgentRequest>(AgentDocument.ContentTypes[0], AgentDocument.ContentTypes[1..])
            .WithSummary("Register an external agent (kind http: a service answering POST {endpoint}/process and GET {endpoint}/health) or declare an LLM agent (kind llm: model, instructions, tools, output schema), in JSON or YAML");
        api.MapPatch("/{name}", UpdateAsync).RequirePermission(Permissions.AgentUpdate).Audited("agent.update", "agent")
            .WithSummary("Change an agent's description, endpoint, capabilities, actions, concurrency, active state or (LLM agents) definition");
        api.MapDelete("/{name}", DeleteAsync).RequirePermission(Permissions.AgentDelete).Audited("agent.delete", "agent")
            .WithSummary("Remove an external agent (built-in agents can only be deactivated)");
        api.MapGet("/{name}/health", HealthAsync).RequirePermission(Permissions.AgentView)
            .WithSummary("The agent's health checks over time, newest first");
        return api;
    }

    private static async Task<Ok<Page<AgentView>>> ListAsync([AsParameters] PageQuery page, SutazaiDbContext db, AgentDirectory directory, CancellationToken cancellationToken)
    {
        var query = db.Agents.AsNoTracking();
        var total = await query.CountAsync(cancellationToken);
        var agents = await query.OrderBy(a => a.Kind).ThenBy(a => a.Name).Skip(page.Offset).Take(page.Limit).ToListAsync(cancellationToken);
        return TypedResults.Ok(new Page<AgentView>([.. agents.Select(a => AgentView.From(a, directory.Find(a.Id)))], total, page.Limit, page.Offset));
    }

    private static async Task<Results<Ok<AgentView>, ProblemHttpResult>> GetAsync(string name, SutazaiDbContext db, AgentDirectory directory, CancellationToken cancellationToken)
    {
        var agent = await db.Agents.AsNoTracking().SingleOrDefaultAsync(a => a.Name == name, cancellationToken);
        return agent is null ? Missing(name) : TypedResults.Ok(AgentView.From(agent, directory.Find(agent.Id)));
    }

    private static async Task<Results<Created<AgentView>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        HttpRequest http, SutazaiDbContext db, AgentDirectory directory, TimeProvider time, IOptions<JsonOptions> json, CancellationToken cancellationToken)
    {
        var (document, unreadable) = await AgentDocument.ReadAsync(http, json.Value.SerializerOptions, cancellationToken);
        if (document is null)
        {
            return (ProblemHttpResult)unreadable!;
        }

        var request = document.Request;
        var errors = document.Problems(DeclarationProblems(request));
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, type: ProblemTypes.Validation);
        }

        var name = request.Name.Trim();
        if (await db.Agents.AnyAsync(a => a.Name == name, cancellationToken))
        {
            return Problems.Conflict($"An agent named '{name}' already exists.");
        }

        var agent = New(request, time.GetUtcNow());
        db.Agents.Add(agent);
        await db.SaveChangesAsync(cancellationToken);
        await directory.RefreshAsync(cancellationToken);
        return TypedResults.Created($"/api/v1/agents/{agent.Name}", AgentView.From(agent, directory.Find(agent.Id)));
    }

    /// <summary>What is wrong with a declaration, per field (its name, kind and the fields its kind takes).</summary>
    internal static Dictionary<string, string[]> DeclarationProblems(CreateAgentRequest request)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (!AgentName().IsMatch(request.Name?.Trim() ?? ""))
        {
            errors["name"] = ["Use 3 to 64 characters of a-z, 0-9 and '-', starting with a letter."];
        }

        switch (request.Kind?.ToLowerInvariant())
        {
            case "http":
                Validate(errors, request.Endpoint, request.Capabilities, request.Actions, request.MaxConcurrency);
                if (request.Definition is not null)
                {
                    errors["definition"] = ["An HTTP agent has no definition; its endpoint does the work."];
                }

                break;
            case "llm":
                Validate(errors, null, request.Capabilities, null, request.MaxConcurrency, creating: false);
                RequireCapabilities(errors, request.Capabilities);
                if (request.Endpoint is not null || request.Actions is not null)
                {
                    errors[request.Endpoint is not null ? "endpoint" : "actions"] = ["An LLM agent has no endpoint and one action, run; give its definition instead."];
                }

                foreach (var (field, messages) in DefinitionProblems(request.Definition))
                {
                    errors[field] = messages;
                }

                break;
            default:
                errors["kind"] = ["Use 'http' (an external agent) or 'llm' (a model with instructions and tools); built-in agents come with the platform."];
                break;
        }

        return errors;
    }

    private static Dictionary<string, string[]> DefinitionProblems(JsonElement? definition)
    {
        if (definition is not { ValueKind: JsonValueKind.Object } given)
        {
            return new() { ["definition"] = ["Give the LLM agent's definition: {model, instructions, tools, output_schema, temperature, max_tokens, max_tool_calls}."] };
        }

        try
        {
            return given.Deserialize<LlmAgentDefinition>(AgentJson.Options)?.Problems() ?? new() { ["definition"] = ["Give the definition as an object."] };
        }
        catch (JsonException e)
        {
            var path = DefinitionDocument.Path(e.Path);
            return new() { [path.Length == 0 ? "definition" : $"definition.{path}"] = [JsonReason.Of(e).TrimEnd('.')] };
        }
    }

    /// <summary>A new agent as declared (already checked with <see cref="DeclarationProblems"/>).</summary>
    internal static Agent New(CreateAgentRequest request, DateTimeOffset now)
    {
        var llm = string.Equals(request.Kind, "llm", StringComparison.OrdinalIgnoreCase);
        return new Agent
        {
            Name = request.Name.Trim(),
            Kind = llm ? AgentKind.Llm : AgentKind.Http,
            Description = request.Description ?? "",
            Endpoint = llm ? null : request.Endpoint,
            Capabilities = Clean(request.Capabilities),
            Actions = llm ? [LlmAgent.RunAction] : Clean(request.Actions),
            MaxConcurrency = request.MaxConcurrency ?? 4,
            DefinitionJson = llm ? request.Definition!.Value.GetRawText() : null,
            CreatedAt = now,
            UpdatedAt = now,
        };
    }

    private static async Task<Results<Ok<AgentView>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        string name, UpdateAgentRequest request, SutazaiDbContext db, AgentDirectory directory, TimeProvider time, CancellationToken cancellationToken)
    {
        var agent = await db.Agents.SingleOrDefaultAsync(a => a.Name == name, cancellationToken);
        if (agent is null)
        {
            return Missing(name);
        }

        var errors = new Dictionary<string, string[]>();
        Validate(errors, request.Endpoint, request.Capabilities, request.Actions, request.MaxConcurrency, creating: false);
        if (agent.Kind == AgentKind.BuiltIn && (request.Endpoint is not null || request.Capabilities is not null || request.Actions is not null))
        {
            errors["agent"] = ["A built-in agent's endpoint, capabilities and actions come with the platform; change its description, concurrency or active state."];
        }

        if (agent.Kind == AgentKind.Llm && (request.Endpoint is not null || request.Actions is not null))
        {
            errors["agent"] = ["An LLM agent has no endpoint and one action, run; change its definition instead."];
        }

        if (request.Definition is not null)
        {
            foreach (var (field, messages) in agent.Kind == AgentKind.Llm ? DefinitionProblems(request.Definition) : new() { ["definition"] = ["Only an LLM agent has a definition."] })
            {
                errors[field] = messages;
            }
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, type: ProblemTypes.Validation);
        }

        agent.Description = request.Description ?? agent.Description;
        agent.Endpoint = request.Endpoint ?? agent.Endpoint;
        agent.Capabilities = request.Capabilities is null ? agent.Capabilities : Clean(request.Capabilities);
        agent.Actions = request.Actions is null ? agent.Actions : Clean(request.Actions);
        agent.MaxConcurrency = request.MaxConcurrency ?? agent.MaxConcurrency;
        agent.IsActive = request.IsActive ?? agent.IsActive;
        agent.DefinitionJson = request.Definition?.GetRawText() ?? agent.DefinitionJson;
        agent.UpdatedAt = time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        await directory.RefreshAsync(cancellationToken);
        return TypedResults.Ok(AgentView.From(agent, directory.Find(agent.Id)));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string name, SutazaiDbContext db, AgentDirectory directory, CancellationToken cancellationToken)
    {
        var agent = await db.Agents.SingleOrDefaultAsync(a => a.Name == name, cancellationToken);
        if (agent is null)
        {
            return Missing(name);
        }

        if (agent.Kind == AgentKind.BuiltIn)
        {
            return Problems.Conflict($"'{name}' is built in; deactivate it (PATCH is_active=false) instead of deleting it.");
        }

        db.Agents.Remove(agent);
        await db.SaveChangesAsync(cancellationToken);
        await directory.RefreshAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<Page<AgentHealthView>>, ProblemHttpResult>> HealthAsync(
        string name, [AsParameters] PageQuery page, SutazaiDbContext db, CancellationToken cancellationToken)
    {
        var agentId = await db.Agents.Where(a => a.Name == name).Select(a => (Guid?)a.Id).SingleOrDefaultAsync(cancellationToken);
        if (agentId is null)
        {
            return Missing(name);
        }

        var query = db.AgentHealth.AsNoTracking().Where(h => h.AgentId == agentId);
        var total = await query.CountAsync(cancellationToken);
        var samples = await query.OrderByDescending(h => h.RecordedAt).ThenByDescending(h => h.Id).Skip(page.Offset).Take(page.Limit).ToListAsync(cancellationToken);
        return TypedResults.Ok(new Page<AgentHealthView>([.. samples.Select(AgentHealthView.From)], total, page.Limit, page.Offset));
    }

    private static void RequireCapabilities(Dictionary<string, string[]> errors, IReadOnlyList<string>? capabilities)
    {
        if (capabilities is not { Count: > 0 })
        {
            errors["capabilities"] = ["Give 1 to 50 capabilities of a-z, 0-9, '-' and '_' (for example 'web-scraping')."];
        }
    }

    private static void Validate(Dictionary<string, string[]> errors, string? endpoint, IReadOnlyList<string>? capabilities, IReadOnlyList<string>? actions, int? maxConcurrency, bool creating = true)
    {
        if ((creating || endpoint is not null)
            && (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || endpoint!.Length > 500))
        {
            errors["endpoint"] = ["Use the agent's absolute http or https base address, for example http://10.0.0.5:8080."];
        }

        if ((capabilities is not null && (capabilities.Count > 50 || capabilities.Any(c => !Capability().IsMatch(c.Trim()))))
            || (creating && capabilities is not { Count: > 0 }))
        {
            errors["capabilities"] = ["Give 1 to 50 capabilities of a-z, 0-9, '-' and '_' (for example 'web-scraping')."];
        }

        if (actions is not null && (actions.Count > 100 || actions.Any(a => !Capability().IsMatch(a.Trim()))))
        {
            errors["actions"] = ["Give at most 100 action names of a-z, 0-9, '-' and '_'; none means the agent takes any action."];
        }

        if (maxConcurrency is < 1 or > 1000)
        {
            errors["max_concurrency"] = ["Use 1 to 1000."];
        }
    }

    private static List<string> Clean(IReadOnlyList<string>? values) => values is null ? [] : [.. values.Select(v => v.Trim()).Distinct(StringComparer.Ordinal)];

    private static ProblemHttpResult Missing(string name) => Problems.NotFound($"No agent is named '{name}'.");

    [GeneratedRegex("^[a-z][a-z0-9-]{2,63}$")]
    private static partial Regex AgentName();

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,99}$")]
    private static partial Regex Capability();
}

/// <param name="Definition">An LLM agent's model, instructions, tools and output schema (see <see cref="LlmAgentDefinition"/>).</param>
public sealed record CreateAgentRequest(
    [property: Required, StringLength(64)] string Name,
    [property: Required, StringLength(16)] string Kind,
    [property: StringLength(2000)] string? Description = null,
    [property: StringLength(500)] string? Endpoint = null,
    IReadOnlyList<string>? Capabilities = null,
    IReadOnlyList<string>? Actions = null,
    int? MaxConcurrency = null,
    JsonElement? Definition = null);

/// <summary>Only the fields present change.</summary>
public sealed record UpdateAgentRequest(
    [property: StringLength(2000)] string? Description = null,
    [property: StringLength(500)] string? Endpoint = null,
    IReadOnlyList<string>? Capabilities = null,
    IReadOnlyList<string>? Actions = null,
    int? MaxConcurrency = null,
    bool? IsActive = null,
    JsonElement? Definition = null);

public sealed record AgentView(
    Guid Id,
    string Name,
    AgentKind Kind,
    string Description,
    string? Endpoint,
    int? Port,
    bool IsActive,
    IReadOnlyList<string> Capabilities,
    IReadOnlyList<AgentActionView> Actions,
    int MaxConcurrency,
    int InFlight,
    AgentHealthStatus Health,
    string? HealthDetail,
    DateTimeOffset? LastHeartbeatAt,
    double? LatencyMs,
    long SuccessCount,
    long ErrorCount,
    string? Unavailable,
    JsonElement? Definition,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static AgentView From(Agent agent, AgentEntry? entry) => new(
        agent.Id, agent.Name, agent.Kind, agent.Description, agent.Endpoint, agent.Port, agent.IsActive, agent.Capabilities,
        [.. (entry?.Implementation?.Actions ?? agent.Actions.Select(a => new AgentAction(a, "declared by the external agent")).ToList())
            .Select(a => new AgentActionView(a.Name, a.Description, a.RequiredPermission))],
        agent.MaxConcurrency, entry?.InFlight ?? 0, entry?.Health ?? agent.HealthStatus, entry?.HealthDetail ?? agent.HealthDetail,
        agent.LastHeartbeatAt, entry?.LatencyMs ?? agent.LastLatencyMs, agent.SuccessCount, agent.ErrorCount, entry?.UnavailableReason,
        agent.DefinitionJson is null ? null : JsonSerializer.Deserialize<JsonElement>(agent.DefinitionJson), agent.CreatedAt, agent.UpdatedAt);
}

public sealed record AgentActionView(string Name, string Description, string? RequiredPermission);

public sealed record AgentHealthView(string Status, DateTimeOffset RecordedAt, double? LatencyMs, long SuccessCount, long ErrorCount, string? Detail)
{
    public static AgentHealthView From(AgentHealthSample sample) => new(
        sample.Status, sample.RecordedAt, sample.ResponseTimeMs, sample.SuccessCount, sample.ErrorCount,
        sample.MetadataJson is null ? null : JsonDocument.Parse(sample.MetadataJson).RootElement.TryGetProperty("detail", out var d) ? d.GetString() : null);
}
