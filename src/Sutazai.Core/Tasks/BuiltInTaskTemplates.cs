using Sutazai.Core.Agents;

namespace Sutazai.Core.Tasks;

/// <summary>Templates every installation starts with, one per common job of the built-in agents.</summary>
public static class BuiltInTaskTemplates
{
    public static IReadOnlyList<TaskTemplateDefinition> All { get; } =
    [
        new("system-metrics", "Collect CPU, memory, disk, network and process metrics from the host.",
            "system_metrics", "collect_metrics", ["system-metrics"], 5, """{"include_processes":true}"""),
        new("storage-report", "Find the largest files and duplicates under a configured root.",
            "storage_analysis", "analyze_storage", ["storage-analysis"], 6, """{"path":"","top":20}"""),
        new("disk-cleanup-dry-run", "Report temp files older than N days that a cleanup would delete.",
            "disk_cleanup", "optimize_disk", ["disk-cleanup"], 7, """{"older_than_days":7,"dry_run":true}"""),
        new("resource-request", "Ask the arbiter for CPU cores and memory for a while.",
            "resource_request", "allocate", ["resource-allocation"], 5, """{"cpu_cores":1,"memory_mb":512,"duration_minutes":30}"""),
        new("llm-generate", "Generate text with the default model.",
            "llm_generate", "generate", ["llm-generate"], 5, """{"prompt":""}"""),
        new("agent-metrics", "Export model and agent metrics.",
            "metrics_export", "export", ["metrics-export"], 8, "{}"),
    ];

    /// <summary>The built-in agent a template's work naturally lands on, for documentation and tests.</summary>
    public static string AgentFor(TaskTemplateDefinition template) =>
        BuiltInAgents.All.First(a => template.RequiredCapabilities.All(a.Capabilities.Contains)).Name;
}

public sealed record TaskTemplateDefinition(
    string Name,
    string Description,
    string TaskType,
    string Action,
    IReadOnlyList<string> RequiredCapabilities,
    int DefaultPriority,
    string PayloadJson);
