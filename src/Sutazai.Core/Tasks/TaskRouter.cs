using System.Globalization;
using System.Text;
using Sutazai.Core.Agents;

namespace Sutazai.Core.Tasks;

/// <summary>What the router decided for a task, and why, in words that are stored with the task.</summary>
/// <param name="Agent">The chosen agent, or null when no agent can take the task now.</param>
/// <param name="Busy">True when capable agents exist but all their slots here are taken: wait, do not defer.</param>
public sealed record RouteDecision(AgentEntry? Agent, string Reason, double Score = 0, bool Busy = false);

/// <summary>
/// Picks the best agent for a task. Hard requirements first: the agent is active, runnable here, not unhealthy,
/// has every required capability and offers the action. Among those, the best score wins: an explicitly offered
/// action, the task's type and words matching the agent's name and capabilities, health, latency, and spare
/// capacity (weighed more for urgent tasks). The explanation is kept with the task.
/// </summary>
public static class TaskRouter
{
    public static RouteDecision Route(TaskItem task, IReadOnlyList<AgentEntry> agents)
    {
        var pool = agents.Where(a => a.Definition.IsActive).ToList();
        if (task.AgentId is { } wanted)
        {
            pool = [.. pool.Where(a => a.Definition.Id == wanted)];
            if (pool.Count == 0)
            {
                return new RouteDecision(null, "the requested agent is not registered or not active");
            }
        }

        var capable = pool.Where(a => task.RequiredCapabilities.All(c => a.Definition.Capabilities.Contains(c, StringComparer.Ordinal))).ToList();
        if (capable.Count == 0)
        {
            return new RouteDecision(null, $"no active agent has the capabilities [{string.Join(", ", task.RequiredCapabilities)}]");
        }

        var offering = capable.Where(a => a.Offers(task.Action)).ToList();
        if (offering.Count == 0)
        {
            return new RouteDecision(null, $"no agent with those capabilities offers the action '{task.Action}'");
        }

        var runnable = offering.Where(a => a.UnavailableReason is null && a.Health != AgentHealthStatus.Unhealthy).ToList();
        if (runnable.Count == 0)
        {
            var why = string.Join("; ", offering.Select(a => $"{a.Definition.Name}: {a.UnavailableReason ?? a.HealthDetail ?? "unhealthy"}"));
            return new RouteDecision(null, $"every agent that could take it is unavailable ({why})");
        }

        var words = Words($"{task.Type} {task.Title} {task.Description}");
        var scored = runnable
            .Select(a => (Agent: a, Score: Score(task, a, words, out var parts), Parts: parts))
            .OrderByDescending(s => s.Score)
            .ThenBy(s => s.Agent.InFlight)
            .ThenBy(s => s.Agent.Definition.Name, StringComparer.Ordinal)
            .ToList();
        if (task.AgentId is null && task.RequiredCapabilities.Count == 0 && task.Action is null && scored[0].Parts.Matched == 0)
        {
            return new RouteDecision(null, $"no capabilities or action were given and no agent matches the type '{task.Type}'");
        }

        var free = scored.FirstOrDefault(s => s.Agent.InFlight < s.Agent.Definition.MaxConcurrency);
        if (free.Agent is null)
        {
            return new RouteDecision(null, $"all {scored.Count} capable agent(s) are busy", Busy: true);
        }

        return new RouteDecision(free.Agent, $"{free.Agent.Definition.Name} (score {free.Score.ToString("0.#", CultureInfo.InvariantCulture)}): {free.Parts.Text}", free.Score);
    }

    private static double Score(TaskItem task, AgentEntry agent, IReadOnlySet<string> words, out Explanation explanation)
    {
        var text = new List<string>();
        var score = 0.0;
        var matched = 0;
        if (task.RequiredCapabilities.Count > 0)
        {
            score += 100;
            matched++;
            text.Add($"has [{string.Join(", ", task.RequiredCapabilities)}]");
        }

        if (task.Action is not null && agent.ActionNames.Contains(task.Action))
        {
            score += 40;
            matched++;
            text.Add($"offers {task.Action}");
        }

        var agentWords = Words($"{agent.Definition.Name} {string.Join(' ', agent.Definition.Capabilities)}");
        var common = words.Intersect(agentWords).Order(StringComparer.Ordinal).ToList();
        if (common.Count > 0)
        {
            score += Math.Min(60, 15 * common.Count);
            matched++;
            text.Add($"matches {string.Join(", ", common.Select(w => $"'{w}'"))}");
        }

        switch (agent.Health)
        {
            case AgentHealthStatus.Healthy:
                score += 20;
                text.Add("healthy");
                break;
            case AgentHealthStatus.Degraded:
                score -= 10;
                text.Add($"degraded ({agent.HealthDetail})");
                break;
            default:
                text.Add("health not yet known");
                break;
        }

        if (agent.LatencyMs is { } latency)
        {
            score -= Math.Min(20, latency / 50);
        }

        var spare = 1 - ((double)agent.InFlight / Math.Max(1, agent.Definition.MaxConcurrency));
        score += spare * (task.Priority <= 3 ? 60 : 30);
        text.Add($"load {agent.InFlight}/{agent.Definition.MaxConcurrency}");
        explanation = new Explanation(string.Join("; ", text), matched);
        return score;
    }

    /// <summary>Lower-case words of three letters or more, split on anything that is not a letter or digit.</summary>
    private static HashSet<string> Words(string text)
    {
        var words = new HashSet<string>(StringComparer.Ordinal);
        var current = new StringBuilder();
        foreach (var c in text.ToLowerInvariant().Append(' '))
        {
            if (char.IsLetterOrDigit(c))
            {
                current.Append(c);
                continue;
            }

            if (current.Length >= 3)
            {
                words.Add(current.ToString());
            }

            current.Clear();
        }

        return words;
    }

    private readonly record struct Explanation(string Text, int Matched);
}
