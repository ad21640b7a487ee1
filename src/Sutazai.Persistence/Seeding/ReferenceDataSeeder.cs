using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sutazai.Core.Agents;
using Sutazai.Core.Identity;
using Sutazai.Core.Knowledge;
using Sutazai.Core.Models;
using Sutazai.Core.Tasks;

namespace Sutazai.Persistence.Seeding;

/// <summary>
/// Puts the data every installation starts with into the store: the seven agents, the roles, the default
/// model, the default vector collection and the task templates. Safe to run any number of times and from
/// several nodes at once: rows are matched by their natural key and only added when missing. Built-in roles
/// are the exception: their permissions follow the code, because the permission matrix is part of a release.
/// </summary>
public sealed class ReferenceDataSeeder(IOptions<ModelOptions> models, TimeProvider time)
{
    public const string DefaultCollectionName = "default";

    public async Task<SeedResult> SeedAsync(SutazaiDbContext db, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var result = new SeedResult();

        var agentNames = await db.Agents.Select(a => a.Name).ToListAsync(cancellationToken);
        foreach (var agent in BuiltInAgents.All.Where(a => !agentNames.Contains(a.Name)))
        {
            db.Agents.Add(new Agent
            {
                Name = agent.Name,
                Kind = AgentKind.BuiltIn,
                Description = agent.Description,
                Port = agent.OriginalPort,
                Capabilities = [.. agent.Capabilities],
                MaxConcurrency = agent.MaxConcurrency,
                CreatedAt = now,
                UpdatedAt = now,
            });
            result.Added++;
        }

        var roles = await db.Roles.ToDictionaryAsync(r => r.Name, cancellationToken);
        foreach (var definition in BuiltInRoles.All)
        {
            if (!roles.TryGetValue(definition.Name, out var role))
            {
                db.Roles.Add(new Role
                {
                    Name = definition.Name,
                    Description = definition.Description,
                    Permissions = [.. definition.Permissions],
                    IsBuiltIn = true,
                    CreatedAt = now,
                });
                result.Added++;
            }
            else if (!role.Permissions.Order().SequenceEqual(definition.Permissions.Order()) || role.Description != definition.Description)
            {
                role.Permissions = [.. definition.Permissions];
                role.Description = definition.Description;
                role.IsBuiltIn = true;
                result.Updated++;
            }
        }

        var defaultModel = models.Value.DefaultModel;
        if (!await db.Models.AnyAsync(m => m.Name == defaultModel, cancellationToken))
        {
            // Known by name only: whether a backend can serve it is found out by asking, never assumed.
            db.Models.Add(new ModelEntry
            {
                Name = defaultModel,
                ModelType = "chat",
                Backend = "ollama",
                Status = ModelStatus.Unknown,
                Capabilities = ["chat", "generate"],
                CreatedAt = now,
                UpdatedAt = now,
            });
            result.Added++;
        }

        if (!await db.VectorCollections.AnyAsync(c => c.Name == DefaultCollectionName, cancellationToken))
        {
            db.VectorCollections.Add(new VectorCollection
            {
                Name = DefaultCollectionName,
                Store = "embedded",
                Dimension = VectorCollection.DefaultDimension,
                CreatedAt = now,
                UpdatedAt = now,
            });
            result.Added++;
        }

        var templateNames = await db.TaskTemplates.Select(t => t.Name).ToListAsync(cancellationToken);
        foreach (var template in BuiltInTaskTemplates.All.Where(t => !templateNames.Contains(t.Name)))
        {
            db.TaskTemplates.Add(new TaskTemplate
            {
                Name = template.Name,
                Description = template.Description,
                TaskType = template.TaskType,
                Action = template.Action,
                RequiredCapabilities = [.. template.RequiredCapabilities],
                DefaultPriority = template.DefaultPriority,
                PayloadJson = template.PayloadJson,
                CreatedAt = now,
            });
            result.Added++;
        }

        if (result.Added + result.Updated > 0)
        {
            await db.SaveChangesAsync(cancellationToken);
        }

        return result;
    }
}

public sealed class SeedResult
{
    public int Added { get; set; }

    public int Updated { get; set; }
}
