using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Sutazai.Server.Tests;

/// <summary>
/// Endpoints that exist only in tests, behind the server's whole pipeline, to show how the pipeline treats
/// bodies it cannot read and exceptions nobody caught.
/// </summary>
internal sealed class ProbeEndpoints : IStartupFilter
{
    public const string SecretInException = "connection string Password=hunter2 at /srv/secret/path";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        next(app);
        app.UseRouting();
        app.UseEndpoints(endpoints =>
        {
            endpoints.MapPost("/test/echo", (ProbeBody body) => TypedResults.Ok(body));
            endpoints.MapGet("/test/throw", string () => throw new InvalidOperationException(SecretInException));
        });
    };

    public static void AddTo(IServiceCollection services) => services.AddSingleton<IStartupFilter, ProbeEndpoints>();
}

public sealed record ProbeBody([property: Required] string Name, int Count, IReadOnlyList<string> Tags);
