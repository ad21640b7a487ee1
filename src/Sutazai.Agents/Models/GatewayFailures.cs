using Sutazai.Core.Agents;
using Sutazai.Core.Models;

namespace Sutazai.Agents.Models;

/// <summary>How an agent's model call that the gateway refused becomes the task's error: retryable when waiting could help.</summary>
internal static class GatewayFailures
{
    public static async Task<AgentResult> RunAsync(Func<Task<AgentResult>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception e) when (e is ModelBusyException or ModelBackendException)
        {
            return AgentResult.Failure(e.Message, retryable: true);
        }
        catch (Exception e) when (e is UnknownModelException or ModelCallCancelledException or NotSupportedException or ArgumentException)
        {
            return AgentResult.Failure(e.Message);
        }
    }
}
