using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Sutazai.Core.Agents;
using Sutazai.Core.Models;
using Sutazai.Core.Resources;
using Sutazai.Core.Tasks;

namespace Sutazai.Core;

public static class SutazaiCoreServiceCollectionExtensions
{
    /// <summary>Options and services every SutazAI host needs, whatever its adapters.</summary>
    public static IServiceCollection AddSutazaiCore(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddValidatedOptions<PlatformOptions, PlatformOptionsValidator>(PlatformOptions.Section);
        services.AddValidatedOptions<ModelOptions, ModelOptionsValidator>(ModelOptions.Section);
        services.TryAddSingleton<StartupState>();
        return services;
    }

    /// <summary>The model gateway; backends register themselves as <see cref="Models.IModelBackend"/>.</summary>
    public static IServiceCollection AddSutazaiModels(this IServiceCollection services)
    {
        services.TryAddSingleton<Models.ModelCalls>();
        services.TryAddSingleton<Models.ModelGateway>();
        return services;
    }

    /// <summary>The task engine: agents directory, router, dispatcher, submissions and live events.</summary>
    public static IServiceCollection AddSutazaiTasks(this IServiceCollection services)
    {
        services.AddValidatedOptions<TaskOptions, TaskOptionsValidator>(TaskOptions.Section);
        services.TryAddSingleton<TaskEventHub>();
        services.TryAddSingleton<AgentDirectory>();
        services.TryAddSingleton<TaskEngine>();
        services.AddHostedService(sp => sp.GetRequiredService<TaskEngine>());
        services.TryAddSingleton<TaskSubmissions>();
        services.TryAddSingleton<SubTasks>();
        services.AddValidatedOptions<ResourcePoolOptions, ResourcePoolOptionsValidator>(ResourcePoolOptions.Section);
        services.TryAddSingleton<IResourcePool, HostResourcePool>();
        services.TryAddSingleton<ResourceAdmission>();
        return services;
    }

    /// <summary>Binds <typeparamref name="TOptions"/> from <paramref name="section"/> and refuses to start when the validator fails.</summary>
    public static IServiceCollection AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddOptions<TOptions>().BindConfiguration(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        return services;
    }
}
