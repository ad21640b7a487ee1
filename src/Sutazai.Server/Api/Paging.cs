using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Mvc;

namespace Sutazai.Server.Api;

/// <summary>Offset paging for list endpoints: <c>?limit=50&amp;offset=0</c>, at most 200 a page.</summary>
public sealed record PageQuery(
    [property: Range(1, PageQuery.MaxLimit)][FromQuery(Name = "limit")] int Limit = 50,
    [property: Range(0, int.MaxValue)][FromQuery(Name = "offset")] int Offset = 0)
{
    public const int MaxLimit = 200;
}

/// <summary>One page of a list, with the total so clients can page on.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, int Total, int Limit, int Offset);
