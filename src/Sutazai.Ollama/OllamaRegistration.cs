using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sutazai.Core;
using Sutazai.Core.Models;

namespace Sutazai.Ollama;

public static class OllamaRegistration
{
    /// <summary>The Ollama at <c>Sutazai:Models:Ollama:Endpoint</c> as a model backend, unless the endpoint is empty.</summary>
    public static IServiceCollection AddSutazaiOllama(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<OllamaOptions, OllamaOptionsValidator>(OllamaOptions.Section);
        if (configuration[$"{OllamaOptions.Section}:Endpoint"] is not "")
        {
            services.TryAddSingleton<OllamaBackend>();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelBackend, OllamaBackend>(sp => sp.GetRequiredService<OllamaBackend>()));
        }

        return services;
    }
}
