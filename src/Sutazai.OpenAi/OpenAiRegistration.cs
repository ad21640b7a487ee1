using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sutazai.Core;
using Sutazai.Core.Models;

namespace Sutazai.OpenAi;

public static class OpenAiRegistration
{
    /// <summary>Each server under <c>Sutazai:Models:OpenAi:Servers</c> as a model backend named by its key.</summary>
    public static IServiceCollection AddSutazaiOpenAi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<OpenAiOptions, OpenAiOptionsValidator>(OpenAiOptions.Section);
        foreach (var server in configuration.GetSection($"{OpenAiOptions.Section}:Servers").GetChildren())
        {
            var name = server.Key;
            services.AddSingleton<IModelBackend>(sp => new OpenAiBackend(name, sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<OpenAiOptions>>().Value.Servers[name]));
        }

        return services;
    }
}
