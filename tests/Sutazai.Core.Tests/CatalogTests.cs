using Sutazai.Core.Agents;
using Sutazai.Core.Identity;
using Sutazai.Core.Tasks;

namespace Sutazai.Core.Tests;

public sealed class CatalogTests
{
    [Fact]
    public void Built_in_agents_are_the_seven_of_the_design_with_unique_names_and_capabilities()
    {
        var names = BuiltInAgents.All.Select(a => a.Name).ToList();

        Assert.Equal(7, names.Distinct().Count());
        Assert.All(BuiltInAgents.All, a => Assert.NotEmpty(a.Capabilities));
        Assert.Equal(
            ["ai-agent-orchestrator", "ai-metrics-exporter", "hardware-resource-optimizer", "multi-agent-coordinator",
             "ollama-integration-specialist", "resource-arbitration-agent", "task-assignment-coordinator"],
            names.Order());
    }

    [Fact]
    public void Every_task_template_needs_capabilities_some_built_in_agent_has()
    {
        foreach (var template in BuiltInTaskTemplates.All)
        {
            var agent = BuiltInTaskTemplates.AgentFor(template);

            Assert.Contains(BuiltInAgents.All, a => a.Name == agent && template.RequiredCapabilities.All(a.Capabilities.Contains));
        }
    }

    [Fact]
    public void Roles_grant_only_known_permissions_and_admin_grants_all()
    {
        var known = Permissions.All.ToHashSet();

        Assert.Equal(known.Count, Permissions.All.Count);
        Assert.All(BuiltInRoles.All, role => Assert.Subset(known, role.Permissions.ToHashSet()));
        Assert.Equal(known, BuiltInRoles.All.Single(r => r.Name == BuiltInRoles.Admin).Permissions.ToHashSet());
    }

    [Fact]
    public void Roles_keep_the_spec_matrix()
    {
        var roles = BuiltInRoles.All.ToDictionary(r => r.Name, r => r.Permissions.ToHashSet());

        // P4-AUTH-002's sample matrix, which the extended one must keep.
        Assert.Subset(roles["operator"], new HashSet<string> { "agent:view", "agent:execute", "task:view", "task:create", "system:monitor" });
        Assert.Subset(roles["viewer"], new HashSet<string> { "agent:view", "task:view", "system:monitor" });
        Assert.Subset(roles["developer"], new HashSet<string> { "agent:view", "agent:create", "agent:update", "task:view", "task:create", "task:update" });
        Assert.DoesNotContain("system:admin", roles["operator"]);
        Assert.DoesNotContain("agent:create", roles["viewer"]);
        Assert.DoesNotContain("user:create", roles["developer"]);
    }
}
