using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Sutazai.Core.Models;

namespace Sutazai.Core;

public static class SutazaiCoreServiceCollectionExtensions
{
    /// <summary>Options and services every SutazAI host needs, whatever its adapters.</summary>
    public static IServiceCollection AddSutazaiCore(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddValidatedOptions<PlatformOptions, PlatformOptionsValidator>(PlatformOptions.Section);
        services.AddValidatedOptions<ModelOptions, ModelOptionsValidator>(ModelOptions.Section);
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
