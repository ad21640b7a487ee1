namespace Sutazai.Core.Models;

public enum ModelStatus
{
    /// <summary>Known from configuration; no backend has been asked yet.</summary>
    Unknown,
    Available,
    Loaded,
    Unreachable,
}
