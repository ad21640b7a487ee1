using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sutazai.Core;
using Sutazai.Core.Models;

namespace Sutazai.LlamaCpp;

public static class LlamaCppRegistration
{
    /// <summary>Local GGUF models from <c>Sutazai:Models:LlamaCpp</c> as a model backend.</summary>
    public static IServiceCollection AddSutazaiLlamaCpp(this IServiceCollection services)
    {
        services.AddValidatedOptions<LlamaCppOptions, LlamaCppOptionsValidator>(LlamaCppOptions.Section);
        services.TryAddSingleton<LlamaCppBackend>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelBackend, LlamaCppBackend>(sp => sp.GetRequiredService<LlamaCppBackend>()));
        return services;
    }
}
