using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sutazai.Agents.Coordination;
using Sutazai.Agents.Hardware;
using Sutazai.Agents.Llm;
using Sutazai.Agents.Models;
using Sutazai.Agents.Monitoring;
using Sutazai.Agents.Http;
using Sutazai.Agents.Orchestration;
using Sutazai.Agents.Resources;
using Sutazai.Core;
using Sutazai.Core.Agents;

namespace Sutazai.Agents;

public static class AgentsServiceCollectionExtensions
{
    /// <summary>The seven built-in agents and the client for external HTTP agents.</summary>
    public static IServiceCollection AddSutazaiAgents(this IServiceCollection services)
    {
        // Task timeouts govern how long a call may take; the client itself never gives up first.
        services.AddHttpClient(HttpAgentFactory.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.TryAddSingleton<IHttpAgentFactory, HttpAgentFactory>();
        services.AddValidatedOptions<HardwareOptimizerOptions, HardwareOptimizerOptionsValidator>(HardwareOptimizerOptions.Section);
        services.AddSingleton<IAgent>(sp => new HardwareResourceOptimizer(
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<HardwareOptimizerOptions>>()));
        services.AddSingleton<IAgent, TaskAssignmentCoordinator>();
        services.AddSingleton<IAgent, MultiAgentCoordinator>();
        services.AddSingleton<IAgent, ResourceArbitrationAgent>();
        services.AddSingleton<IAgent, AiAgentOrchestrator>();
        services.AddSingleton<IAgent, OllamaIntegrationSpecialist>();
        services.TryAddSingleton<ILlmAgentFactory, LlmAgentFactory>();
        services.AddSingleton<IAgent, AiMetricsExporter>();
        return services;
    }
}
