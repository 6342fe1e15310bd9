using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace LocalLlm.RouterTrainer;

/// <summary>One weighted L2 logistic regression (ML.NET L-BFGS) over sparse features: the trainer's and the experiments' only fit.</summary>
internal static class LogisticFit
{
    public static (float[] Weights, float Bias) Fit(IEnumerable<((int[] Indices, float[] Values) Features, bool Label, float Weight)> rows, int dimension, double l2)
    {
        var ml = new MLContext(seed: 1);
        var examples = rows.Select(r => new Example
        {
            Label = r.Label, Weight = r.Weight, Features = new VBuffer<float>(dimension, r.Features.Indices.Length, r.Features.Values, r.Features.Indices),
        });
        var schema = SchemaDefinition.Create(typeof(Example));
        schema[nameof(Example.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dimension);
        IDataView data = ml.Data.LoadFromEnumerable(examples, schema);
        var trainer = ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
        {
            L2Regularization = (float)l2,
            L1Regularization = 0,
            MaximumNumberOfIterations = 300,
            ExampleWeightColumnName = nameof(Example.Weight),
        });
        var linear = trainer.Fit(data).Model.SubModel;
        return ([.. linear.Weights], linear.Bias);
    }
}
