namespace Sutazai.Core.Agents;

/// <summary>An agent the platform can route work to: built in, LLM-backed, or an external service over HTTP.</summary>
public sealed class Agent
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    /// <summary>Unique, URL-safe name such as <c>hardware-resource-optimizer</c>.</summary>
    public required string Name { get; set; }

    public AgentKind Kind { get; set; }

    public string Description { get; set; } = "";

    /// <summary>Base address of an <see cref="AgentKind.Http"/> agent; null for agents that run in process.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The port the original system served this agent on, kept so its users recognise it.</summary>
    public int? Port { get; set; }

    public bool IsActive { get; set; } = true;

    public List<string> Capabilities { get; set; } = [];

    /// <summary>How many tasks the agent may run at once.</summary>
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>Actions an HTTP agent declared; empty means it takes any action.</summary>
    public List<string> Actions { get; set; } = [];

    public AgentHealthStatus HealthStatus { get; set; } = AgentHealthStatus.Unknown;

    /// <summary>Why the agent is not healthy, when it is not.</summary>
    public string? HealthDetail { get; set; }

    public DateTimeOffset? LastHeartbeatAt { get; set; }

    public double? LastLatencyMs { get; set; }

    public long SuccessCount { get; set; }

    public long ErrorCount { get; set; }

    /// <summary>Kind-specific definition as JSON (for an LLM agent: model, instructions, tools).</summary>
    public string? DefinitionJson { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
