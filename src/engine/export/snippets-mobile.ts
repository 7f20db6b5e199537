// Usage files for phone apps: Kotlin with MediaPipe's ImageClassifier (TFLite exports) and Swift with
// Vision + Core ML (Core ML exports). Nothing on the machines that build Foldwise compiles or runs
// them (no Android SDK, no Apple SDK), and each file says so at its top.
import type { ExportMetadata } from './metadata';

export function kotlinMediapipe(meta: ExportMetadata): string {
  return `// FoldwiseClassifier.kt: classifies photos on Android with MediaPipe's ImageClassifier and the
// exported ${meta.modelFile} (labels and normalisation travel inside the file as TFLite metadata).
//
// NOT RUN BY FOLDWISE: the machines that build Foldwise have no Android SDK, so this file was never
// compiled or run there. Foldwise checked ${meta.modelFile} itself with Google's LiteRT runtime against
// the app's own answers; run checkSamples() once on a phone to check your app's pipeline the same way.
//
// Gradle: implementation("com.google.mediapipe:tasks-vision:0.10.14")
// Put ${meta.modelFile} and the samples/ folder into app/src/main/assets/.
package com.example.foldwise

import android.content.Context
import android.graphics.Bitmap
import android.graphics.ImageDecoder
import android.graphics.RectF
import com.google.mediapipe.framework.image.BitmapImageBuilder
import com.google.mediapipe.tasks.core.BaseOptions
import com.google.mediapipe.tasks.vision.core.ImageProcessingOptions
import com.google.mediapipe.tasks.vision.core.RunningMode
import com.google.mediapipe.tasks.vision.imageclassifier.ImageClassifier
import org.json.JSONObject
import kotlin.math.abs
import kotlin.math.max

class FoldwiseClassifier(context: Context) {
    private val classifier: ImageClassifier = ImageClassifier.createFromOptions(
        context,
        ImageClassifier.ImageClassifierOptions.builder()
            .setBaseOptions(BaseOptions.builder().setModelAssetPath("${meta.modelFile}").build())
            .setRunningMode(RunningMode.IMAGE)
            .setMaxResults(-1) // every class, not only the best few
            .build(),
    )

    /** Probability of each label for an upright ARGB_8888 bitmap, best first. */
    fun classify(bitmap: Bitmap): List<Pair<String, Float>> {
        // The app's recipe: the centre square of the photo (MediaPipe would otherwise squash the whole photo).
        val side = minOf(bitmap.width, bitmap.height).toFloat()
        val left = (bitmap.width - side) / 2f / bitmap.width
        val top = (bitmap.height - side) / 2f / bitmap.height
        val square = RectF(left, top, left + side / bitmap.width, top + side / bitmap.height)
        val options = ImageProcessingOptions.builder().setRegionOfInterest(square).build()
        val result = classifier.classify(BitmapImageBuilder(bitmap).build(), options)
        return result.classificationResult().classifications()[0].categories().map { it.categoryName() to it.score() }
    }

    fun close() = classifier.close()
}

/** Decodes a photo upright (ImageDecoder applies EXIF orientation) into a bitmap MediaPipe accepts. */
fun decodePhoto(source: ImageDecoder.Source): Bitmap =
    ImageDecoder.decodeBitmap(source) { decoder, _, _ -> decoder.allocator = ImageDecoder.ALLOCATOR_SOFTWARE }
        .copy(Bitmap.Config.ARGB_8888, false)

/**
 * The check mode: classifies the photos in assets/samples/ and compares with this file's answers when
 * Foldwise checked it, in samples/expected.json. Returns a report; its last line starts with OK or
 * DIFFERENT. The phone's resizing differs a little from the app's, so small differences are expected.
 */
fun checkSamples(context: Context, classifier: FoldwiseClassifier, tolerance: Float = 0.05f): String {
    val expected = JSONObject(context.assets.open("samples/expected.json").bufferedReader().readText())
    val labels = expected.getJSONArray("labels").let { a -> List(a.length()) { a.getString(it) } }
    val samples = expected.getJSONArray("samples")
    val lines = mutableListOf("Checking against Foldwise's answers for \${samples.length()} photos in samples/:")
    var same = 0
    var worst = 0f
    for (i in 0 until samples.length()) {
        val sample = samples.getJSONObject(i)
        val file = sample.getString("file")
        val app = sample.getJSONObject("app")
        // What this file gave when Foldwise checked it: the app's answer rounded as the file rounds (float16, 8-bit).
        val want = sample.optJSONObject("model") ?: app
        val wantProbabilities = want.getJSONArray("probabilities")
        val bitmap = decodePhoto(ImageDecoder.createSource(context.assets, file))
        val mine = classifier.classify(bitmap).toMap()
        val diff = labels.indices.maxOf { abs((mine[labels[it]] ?: Float.NaN) - wantProbabilities.getDouble(it).toFloat()) }
        val best = mine.maxByOrNull { it.value }!!.key
        if (best == want.getString("label")) same++
        worst = if (diff.isNaN()) Float.POSITIVE_INFINITY else max(worst, diff)
        lines += "  $file: $best; this model when Foldwise checked it: \${want.getString("label")}, largest difference \${"%.1e".format(diff)}; Foldwise's app: \${app.getString("label")}"
    }
    val ok = same == samples.length() && worst <= tolerance
    lines += "\${if (ok) "OK" else "DIFFERENT"}: same top class on $same of \${samples.length()} photos; probabilities differ by at most \${"%.1e".format(worst)} (allowed $tolerance)."
    return lines.joinToString("\\n")
}
`;
}

export function swiftVision(meta: ExportMetadata): string {
  return `// FoldwiseClassifier.swift: classifies photos on iPhone, iPad or Mac with Vision and the exported
// ${meta.modelFile} (a Core ML NeuralNetworkClassifier: image in, class label and probabilities out).
//
// NOT RUN BY FOLDWISE: nothing on Linux runs Core ML, so Foldwise checked this model's structure with
// Apple's validator; its predictions were not checked (needs a Mac). Run checkSamples() once on a Mac,
// iPhone or iPad: it compares this model's answers for the photos in samples/ with Foldwise's own.
//
// Add ${meta.modelFile} and the samples/ folder to your Xcode target (Xcode compiles the model).
import CoreML
import Foundation
import ImageIO
import Vision

final class FoldwiseClassifier {
    private let model: VNCoreMLModel

    /** url: the .mlmodel file (compiled here), or the .mlmodelc that Xcode put in the app bundle. */
    init(url: URL) throws {
        let compiled = try url.pathExtension == "mlmodelc" ? url : MLModel.compileModel(at: url)
        model = try VNCoreMLModel(for: MLModel(contentsOf: compiled))
    }

    /** Probability of each label, best first. */
    func classify(_ image: CGImage, orientation: CGImagePropertyOrientation = .up) throws -> [(label: String, probability: Double)] {
        let request = VNCoreMLRequest(model: model)
        // The app's recipe: shorter side to ${meta.recipe.size} px, then the centre square.
        request.imageCropAndScaleOption = .centerCrop
        try VNImageRequestHandler(cgImage: image, orientation: orientation).perform([request])
        let results = request.results as? [VNClassificationObservation] ?? []
        return results.map { ($0.identifier, Double($0.confidence)) }
    }

    /** Reads a photo file with its EXIF orientation, as the app does. */
    func classify(file: URL) throws -> [(label: String, probability: Double)] {
        guard let source = CGImageSourceCreateWithURL(file as CFURL, nil),
              let image = CGImageSourceCreateImageAtIndex(source, 0, nil) else {
            throw NSError(domain: "Foldwise", code: 1, userInfo: [NSLocalizedDescriptionKey: "cannot read \\(file.path)"])
        }
        let properties = CGImageSourceCopyPropertiesAtIndex(source, 0, nil) as? [CFString: Any]
        let raw = properties?[kCGImagePropertyOrientation] as? UInt32 ?? 1
        return try classify(image, orientation: CGImagePropertyOrientation(rawValue: raw) ?? .up)
    }
}

/**
 * The check mode: classifies the photos in samples/ and compares with Foldwise's answers in
 * samples/expected.json. Returns a report; its last line starts with OK or DIFFERENT. Vision resizes a
 * little differently from the app, so small differences are expected.
 */
func checkSamples(classifier: FoldwiseClassifier, exportFolder: URL, tolerance: Double = 0.05) throws -> String {
    struct Expected: Decodable {
        struct App: Decodable { let label: String; let probabilities: [Double] }
        // model: what this file gave when Foldwise checked it (absent for Core ML: nothing there runs it).
        struct Sample: Decodable { let file: String; let app: App; let model: App? }
        let labels: [String]
        let samples: [Sample]
    }
    let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: exportFolder.appendingPathComponent("samples/expected.json")))
    var lines = ["Checking against Foldwise's answers for \\(expected.samples.count) photos in samples/:"]
    var same = 0
    var worst = 0.0
    for sample in expected.samples {
        let mine = try Dictionary(uniqueKeysWithValues: classifier.classify(file: exportFolder.appendingPathComponent(sample.file)).map { ($0.label, $0.probability) })
        let want = sample.model ?? sample.app
        let diff = expected.labels.indices.map { abs((mine[expected.labels[$0]] ?? .nan) - want.probabilities[$0]) }.max() ?? .nan
        let best = mine.max { $0.value < $1.value }?.key ?? "?"
        if best == want.label { same += 1 }
        worst = diff.isNaN ? .infinity : max(worst, diff)
        lines.append("  \\(sample.file): \\(best); this model when Foldwise checked it: \\(want.label), largest difference \\(String(format: "%.1e", diff)); Foldwise's app: \\(sample.app.label)")
    }
    let ok = same == expected.samples.count && worst <= tolerance
    lines.append("\\(ok ? "OK" : "DIFFERENT"): same top class on \\(same) of \\(expected.samples.count) photos; probabilities differ by at most \\(String(format: "%.1e", worst)) (allowed \\(tolerance)).")
    return lines.joined(separator: "\\n")
}
`;
}
