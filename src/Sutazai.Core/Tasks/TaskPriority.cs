namespace Sutazai.Core.Tasks;

public static class TaskPriority
{
    public const int Highest = 1;
    public const int Lowest = 10;
    public const int Default = 5;
}
