/* mkwave — writes a test waveform for the end-to-end corpus.
 *   mkwave FILE float|pcm16|flac|vorbis|mp3 RATE_HZ DURATION_MS [nan]
 * The signal is a CMAP-like pair of Gaussians (mV; pcm at 20 mV full scale). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sndfile.h>

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: mkwave FILE float|pcm16|flac|vorbis|mp3 RATE MS [nan]\n");
        return 2;
    }
    int rate = atoi(argv[3]);
    size_t n = (size_t)(rate * atof(argv[4]) / 1000.0);
    SF_INFO info = {.samplerate = rate, .channels = 1};
    int pcm = 1;
    if (!strcmp(argv[2], "float")) {
        info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
        pcm = 0;
    } else if (!strcmp(argv[2], "pcm16")) {
        info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    } else if (!strcmp(argv[2], "vorbis")) { /* lossy: ncs refuses it */
        info.format = SF_FORMAT_OGG | SF_FORMAT_VORBIS;
        pcm = 0;
    } else if (!strcmp(argv[2], "mp3")) {
        info.format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
        pcm = 0;
    } else {
        info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    }
    SNDFILE *sf = sf_open(argv[1], SFM_WRITE, &info);
    if (!sf) {
        fprintf(stderr, "mkwave: %s: %s\n", argv[1], sf_strerror(NULL));
        return 1;
    }
    if (!pcm)
        sf_command(sf, SFC_SET_NORM_DOUBLE, NULL, SF_FALSE);
    double *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        double t = 1000.0 * (double)i / rate;
        x[i] = -5.0 * exp(-0.5 * pow((t - 8.0) / 1.0, 2)) + 1.5 * exp(-0.5 * pow((t - 11.0) / 1.5, 2));
        if (pcm)
            x[i] /= 20.0;
    }
    if (argc > 5 && !strcmp(argv[5], "nan") && n > 10)
        x[n / 2] = NAN;
    sf_write_double(sf, x, (sf_count_t)n);
    free(x);
    return sf_close(sf) ? 1 : 0;
}
