using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Agents;
using Sutazai.Core.Identity;
using Sutazai.Persistence;
using Sutazai.Server.Api;
using Sutazai.Server.Errors;
using Sutazai.Server.Identity;

namespace Sutazai.Server.Agents;

public static class AgentsApi
{
    public static RouteGroupBuilder MapAgentsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/agents").WithTags("Agents");
        api.MapGet("/", ListAsync).RequirePermission(Permissions.AgentView).WithSummary("List agents, built-in first, then by name");
        api.MapGet("/{name}", GetAsync).RequirePermission(Permissions.AgentView).WithSummary("Get one agent by name");
        return api;
    }

    private static async Task<Ok<Page<AgentView>>> ListAsync([AsParameters] PageQuery page, SutazaiDbContext db, CancellationToken cancellationToken)
    {
        var query = db.Agents.AsNoTracking();
        var total = await query.CountAsync(cancellationToken);
        var agents = await query
            .OrderBy(a => a.Kind).ThenBy(a => a.Name)
            .Skip(page.Offset).Take(page.Limit)
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new Page<AgentView>([.. agents.Select(AgentView.From)], total, page.Limit, page.Offset));
    }

    private static async Task<Results<Ok<AgentView>, ProblemHttpResult>> GetAsync(string name, SutazaiDbContext db, CancellationToken cancellationToken)
    {
        var agent = await db.Agents.AsNoTracking().SingleOrDefaultAsync(a => a.Name == name, cancellationToken);
        return agent is null
            ? Problems.NotFound($"No agent is named '{name}'.")
            : TypedResults.Ok(AgentView.From(agent));
    }
}

public sealed record AgentView(
    Guid Id,
    string Name,
    AgentKind Kind,
    string Description,
    string? Endpoint,
    int? Port,
    bool IsActive,
    IReadOnlyList<string> Capabilities,
    int MaxConcurrency,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static AgentView From(Agent agent) => new(
        agent.Id, agent.Name, agent.Kind, agent.Description, agent.Endpoint, agent.Port, agent.IsActive,
        agent.Capabilities, agent.MaxConcurrency, agent.CreatedAt, agent.UpdatedAt);
}
