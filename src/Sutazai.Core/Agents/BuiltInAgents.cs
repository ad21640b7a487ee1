namespace Sutazai.Core.Agents;

/// <summary>The seven agents every installation has, with the capabilities the router matches against.</summary>
public static class BuiltInAgents
{
    public const string HardwareResourceOptimizer = "hardware-resource-optimizer";
    public const string TaskAssignmentCoordinator = "task-assignment-coordinator";
    public const string MultiAgentCoordinator = "multi-agent-coordinator";
    public const string ResourceArbitrationAgent = "resource-arbitration-agent";
    public const string AiAgentOrchestrator = "ai-agent-orchestrator";
    public const string OllamaIntegrationSpecialist = "ollama-integration-specialist";
    public const string AiMetricsExporter = "ai-metrics-exporter";

    public static IReadOnlyList<BuiltInAgentDefinition> All { get; } =
    [
        new(HardwareResourceOptimizer, 8002,
            "Host metrics from the OS, storage analysis and safe, audited optimization actions.",
            ["system-metrics", "storage-analysis", "memory-optimization", "cpu-optimization", "disk-cleanup", "container-cleanup"]),
        new(TaskAssignmentCoordinator, 8551,
            "The router and task queue: assignment, queue view, statistics, active assignments.",
            ["task-assignment", "task-routing", "queue-management", "task-statistics"]),
        new(MultiAgentCoordinator, 8587,
            "Runs workflows of dependent tasks across agents and reports their live status.",
            ["workflow-execution", "dag-scheduling", "multi-agent-coordination"],
            MaxConcurrency: 32),
        new(ResourceArbitrationAgent, 8588,
            "Allocates CPU, memory, GPU and custom resources as leases with priority, expiry and fair sharing.",
            ["resource-allocation", "resource-release", "resource-usage", "task-admission"]),
        new(AiAgentOrchestrator, 8589,
            "Agent-to-agent interactions with correlation and timeouts, conflict detection, LLM pipelines.",
            ["agent-interaction", "conflict-detection", "llm-pipeline"]),
        new(OllamaIntegrationSpecialist, 11015,
            "Model management and generation: list, pull, switch, generate, chat, embed.",
            ["llm-generate", "llm-chat", "embedding", "model-management"]),
        new(AiMetricsExporter, 11063,
            "Metrics about models and agents in Prometheus form (ai_model_*, ai_agent_*).",
            ["metrics-export", "model-metrics", "agent-metrics"]),
    ];
}

/// <param name="MaxConcurrency">How many of its tasks run at once on a node when first seeded (a workflow run mostly waits for its tasks).</param>
public sealed record BuiltInAgentDefinition(string Name, int OriginalPort, string Description, IReadOnlyList<string> Capabilities, int MaxConcurrency = 4);
