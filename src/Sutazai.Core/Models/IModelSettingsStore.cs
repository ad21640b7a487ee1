namespace Sutazai.Core.Models;

/// <summary>Model settings changed at run time and shared by every node: for now, the default model.</summary>
public interface IModelSettingsStore
{
    /// <summary>The default model an admin chose, or null when none was chosen (configuration decides).</summary>
    Task<string?> GetDefaultModelAsync(CancellationToken cancellationToken);

    Task SetDefaultModelAsync(string model, string backend, DateTimeOffset now, CancellationToken cancellationToken);
}
