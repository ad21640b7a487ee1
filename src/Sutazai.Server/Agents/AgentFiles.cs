using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sutazai.Core.Agents;
using Sutazai.Core.Definitions;
using Sutazai.Persistence;

namespace Sutazai.Server.Agents;

public sealed class AgentFilesOptions
{
    public const string Section = "Sutazai:Agents";

    /// <summary>A directory of agent declarations (<c>*.yaml</c>, <c>*.yml</c>, <c>*.json</c>, each the body of POST /api/v1/agents), read at start; none when empty.</summary>
    public string? DefinitionsPath { get; set; }
}

/// <summary>
/// Declares the agents written in files at start: a new name is added, a changed file updates its agent, and a
/// file with a problem is skipped with an error naming the file, the field, the line and the column (the node
/// still starts). Built-in agents cannot be declared this way.
/// </summary>
public sealed partial class AgentFiles(
    IOptions<AgentFilesOptions> options,
    IDbContextFactory<SutazaiDbContext> contexts,
    IOptions<JsonOptions> json,
    TimeProvider time,
    ILogger<AgentFiles> logger)
{
    private static readonly string[] Patterns = ["*.yaml", "*.yml", "*.json"];

    /// <returns>How many agents were added or changed.</returns>
    public async Task<int> LoadAsync(CancellationToken cancellationToken)
    {
        if (options.Value.DefinitionsPath is not { Length: > 0 } path)
        {
            return 0;
        }

        if (!Directory.Exists(path))
        {
            LogMissingDirectory(path);
            return 0;
        }

        var changed = 0;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        foreach (var file in Patterns.SelectMany(p => Directory.EnumerateFiles(path, p)).Order(StringComparer.Ordinal))
        {
            if (await ReadAsync(file, cancellationToken) is not { } request)
            {
                continue;
            }

            var now = time.GetUtcNow();
            var declared = AgentsApi.New(request, now);
            var existing = await db.Agents.SingleOrDefaultAsync(a => a.Name == declared.Name, cancellationToken);
            if (existing is null)
            {
                db.Agents.Add(declared);
                changed++;
                LogDeclared(declared.Name, file);
            }
            else if (existing.Kind != declared.Kind)
            {
                LogKindClash(file, declared.Name, existing.Kind);
            }
            else if (!Same(existing, declared))
            {
                (existing.Description, existing.Endpoint, existing.Capabilities, existing.Actions, existing.MaxConcurrency, existing.DefinitionJson, existing.UpdatedAt) =
                    (declared.Description, declared.Endpoint, declared.Capabilities, declared.Actions, declared.MaxConcurrency, declared.DefinitionJson, now);
                changed++;
                LogUpdated(declared.Name, file);
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        return changed;
    }

    private async Task<CreateAgentRequest?> ReadAsync(string file, CancellationToken cancellationToken)
    {
        try
        {
            var document = AgentDocument.Parse(await File.ReadAllTextAsync(file, cancellationToken), json.Value.SerializerOptions);
            var errors = document.Problems(AgentsApi.DeclarationProblems(document.Request));
            if (errors.Count == 0)
            {
                return document.Request;
            }

            LogInvalid(file, string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")));
        }
        catch (DefinitionException e)
        {
            LogInvalid(file, e.Message);
        }
        catch (IOException e)
        {
            LogInvalid(file, e.Message);
        }

        return null;
    }

    private static bool Same(Agent a, Agent b) =>
        a.Description == b.Description && a.Endpoint == b.Endpoint && a.MaxConcurrency == b.MaxConcurrency
        && a.Capabilities.SequenceEqual(b.Capabilities) && a.Actions.SequenceEqual(b.Actions)
        && JsonText(a.DefinitionJson) == JsonText(b.DefinitionJson);

    private static string? JsonText(string? json) => json is null ? null : JsonSerializer.Serialize(JsonSerializer.Deserialize<JsonElement>(json));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent definitions directory {Path} does not exist; no agents declared from files")]
    private partial void LogMissingDirectory(string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Agent file {File} was skipped: {Problems}")]
    private partial void LogInvalid(string file, string problems);

    [LoggerMessage(Level = LogLevel.Error, Message = "Agent file {File} declares {Agent}, which exists as a {Kind} agent; skipped")]
    private partial void LogKindClash(string file, string agent, AgentKind kind);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {Agent} declared from {File}")]
    private partial void LogDeclared(string agent, string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {Agent} updated from {File}")]
    private partial void LogUpdated(string agent, string file);
}
