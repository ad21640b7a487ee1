using Sutazai.Server.Hosting;

try
{
    // Settings files ship next to the binary; the working directory is where ./data goes.
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    builder.AddSutazai();

    var app = builder.Build();
    app.UseSutazai();
    app.MapSutazai();

    await app.RunAsync();
    return 0;
}
catch (Exception e) when (ConfigurationErrors.TryReport(e, Console.Error))
{
    return 2;
}

/// <summary>The entry point, visible to <c>WebApplicationFactory</c> in tests.</summary>
public partial class Program;
