using System.Globalization;
using System.Text;

namespace LocalLlm.Memory;

/// <summary>Where a component of a memory estimate lives.</summary>
public enum MemoryLocation
{
    /// <summary>Memory of the device that computes (GPU memory, or RAM when the CPU computes).</summary>
    Device,

    /// <summary>Host RAM used while a GPU computes (CPU offload).</summary>
    Host,
}

/// <summary>One named part of a memory estimate, with the formula that produced it.</summary>
/// <param name="Name">What the memory holds ("weights", "KV cache", ...).</param>
/// <param name="Bytes">Bytes.</param>
/// <param name="Formula">How it was computed, in words and numbers.</param>
/// <param name="Location">Where it lives.</param>
public sealed record MemoryComponent(string Name, long Bytes, string Formula, MemoryLocation Location = MemoryLocation.Device);

/// <summary>A memory estimate as named components, with totals and a table formatter.</summary>
/// <param name="Title">What was estimated.</param>
/// <param name="Components">The parts, in display order.</param>
public sealed record MemoryBreakdown(string Title, IReadOnlyList<MemoryComponent> Components)
{
    /// <summary>Gets the bytes on the computing device (GPU memory, or RAM for a CPU).</summary>
    public long DeviceBytes => Components.Where(c => c.Location == MemoryLocation.Device).Sum(c => c.Bytes);

    /// <summary>Gets the bytes in host RAM (non-zero only with CPU offload).</summary>
    public long HostBytes => Components.Where(c => c.Location == MemoryLocation.Host).Sum(c => c.Bytes);

    /// <summary>Gets the bytes of the component called <paramref name="name"/>, or 0 when there is none.</summary>
    /// <param name="name">The component name.</param>
    /// <returns>Its bytes.</returns>
    public long this[string name] => Components.Where(c => c.Name == name).Sum(c => c.Bytes);

    /// <summary>Formats the breakdown as a Markdown table (component, location, size, formula).</summary>
    /// <returns>The table, with a total line.</returns>
    public string ToMarkdownTable()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"**{Title}**\n\n");
        sb.Append("| component | where | size | how |\n| --- | --- | ---: | --- |\n");
        foreach (MemoryComponent c in Components)
            sb.Append(CultureInfo.InvariantCulture, $"| {c.Name} | {c.Location} | {FormatBytes(c.Bytes)} | {c.Formula} |\n");
        sb.Append(CultureInfo.InvariantCulture, $"| **total (device)** | Device | **{FormatBytes(DeviceBytes)}** | |\n");
        if (HostBytes > 0)
            sb.Append(CultureInfo.InvariantCulture, $"| **total (host)** | Host | **{FormatBytes(HostBytes)}** | |\n");
        return sb.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => ToMarkdownTable();

    /// <summary>Formats a byte count with a binary unit (KiB, MiB, GiB).</summary>
    /// <param name="bytes">Bytes.</param>
    /// <returns>For example "1.50 GiB".</returns>
    public static string FormatBytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.00} {units[unit]}");
    }
}
