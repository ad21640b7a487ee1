using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sutazai.Core.Definitions;

/// <summary>What System.Text.Json found wrong, in words for the person who wrote the JSON.</summary>
public static partial class JsonReason
{
    /// <summary>Keeps the reason, drops the position (given separately) and the names of our .NET types.</summary>
    public static string Of(JsonException e)
    {
        var withoutPosition = PositionSuffix().Replace(e.Message, "");
        var withoutTypes = DotNetTypeName().Replace(withoutPosition, "");
        return ConvertedToType().Replace(withoutTypes, "could not be converted to the type this field takes").Trim();
    }

    [GeneratedRegex(@"\s*Path: .*$", RegexOptions.Singleline)]
    private static partial Regex PositionSuffix();

    [GeneratedRegex(@"\s*(contained in|of) type '[^']*'")]
    private static partial Regex DotNetTypeName();

    [GeneratedRegex(@"could not be converted to \S+?(?=\.(\s|$))")]
    private static partial Regex ConvertedToType();
}
