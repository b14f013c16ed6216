    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    fn assert_all_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(close(*g, *w, tol), "{what}[{i}]: {g} vs scikit-learn {w}");
        }
    }

    // scikit-learn's docstring example.
    // >>> X = np.array([[-1,-1],[-2,-1],[-3,-2],[1,1],[2,1],[3,2]])
    // >>> p = PCA(n_components=2, svd_solver="full").fit(X)
    const X: [f32; 12] = [-1., -1., -2., -1., -3., -2., 1., 1., 2., 1., 3., 2.];

    #[test]
    fn docstring_example_matches_scikit_learn() {
        for solver in [Solver::Exact, Solver::Randomized] {
            let p = PcaParams::new(NComponents::Count(2)).solver(solver).fit(&X, 2).unwrap();
            assert_all_close(p.explained_variance_ratio(), &[0.9924428900898052, 0.007557109910194766], 1e-5, "ratio");
            assert_all_close(p.singular_values(), &[6.300612319734663, 0.5498039617971033], 1e-5, "singular values");
            assert_all_close(p.explained_variance(), &[7.939543120718442, 0.06045687928155813], 1e-5, "variance");
            let comps: Vec<f64> = p.components().iter().map(|&v| v as f64).collect();
            // >>> p.components_
            assert_all_close(&comps, &[0.838492237904874, 0.5449135408239331, -0.5449135408239331, 0.838492237904874], 1e-5, "components");
            // >>> p.transform(X)[:3]
            let z: Vec<f64> = p.transform(&X).unwrap().iter().map(|&v| v as f64).collect();
            assert_all_close(
                &z[..6],
                &[-1.383405778728807, -0.293578697080941, -2.221898016633681, 0.2513348437429921, -3.605303795362488, -0.04224385333794878],
                1e-5,
                "transform",
            );
        }
    }

    #[test]
    fn whitening_matches_scikit_learn_and_inverts() {
        let p = PcaParams::new(NComponents::Count(2)).whiten(true).fit(&X, 2).unwrap();
        // >>> PCA(n_components=2, whiten=True).fit(X).transform(X)[:3]
        let z = p.transform(&X).unwrap();
        let zf: Vec<f64> = z.iter().map(|&v| v as f64).collect();
        assert_all_close(
            &zf[..6],
            &[-0.49096646559487356, -1.1939927120078853, -0.7885447877348688, 1.022185787615361, -1.2795112533297424, -0.1718069243925236],
            1e-5,
            "whitened transform",
        );
        let back = p.inverse_transform(&z).unwrap();
        for (a, b) in back.iter().zip(X) {
            assert!((a - b).abs() < 1e-5, "inverse_transform {a} vs {b}");
        }
    }

    /// >>> A = (np.arange(40).reshape(8, 5).astype(np.float64) ** 1.5) % 7
    fn matrix_a() -> Vec<f32> {
        (0..40).map(|i| ((i as f64).powf(1.5) % 7.0) as f32).collect()
    }

    #[test]
    fn signs_follow_svd_flip_on_a_5_feature_matrix() {
        let a = matrix_a();
        // >>> PCA(n_components=3, svd_solver="full").fit(A).components_
        let want = [
            0.4752314737999786, 0.7278534280532721, -0.15385143562704284, -0.46971804948219276, -0.008895129405642688,
            0.08652711542162284, -0.0785544438580022, 0.913008101155953, -0.3292397463685955, -0.2106173171458533,
            0.4119489037681424, -0.025899312153169943, 0.2507541597170107, 0.2788006432018894, 0.8300722131531971,
        ];
        for solver in [Solver::Exact, Solver::Randomized] {
            let p = PcaParams::new(NComponents::Count(3)).solver(solver).seed(7).fit(&a, 5).unwrap();
            let comps: Vec<f64> = p.components().iter().map(|&v| v as f64).collect();
            assert_all_close(&comps, &want, 1e-4, "components");
            assert_all_close(p.explained_variance(), &[10.231584016367904, 7.319246219124191, 4.834941180314906], 1e-5, "variance");
            assert_all_close(p.explained_variance_ratio(), &[0.4009856457784228, 0.28684831860752813, 0.18948600806950058], 1e-5, "ratio");
            let z: Vec<f64> = p.transform(&a).unwrap()[..3].iter().map(|&v| v as f64).collect();
            assert_all_close(&z, &[-4.0712730415017555, -0.4976410037579324, -3.546548419442524], 1e-4, "transform");
        }
    }

    #[test]
    fn randomized_on_the_data_matches_the_exact_solver() {
        // The path wide data take (gram_is_cheaper is false for them).
        let a = matrix_a();
        let mean = column_means(&a, 8, 5);
        let exact = PcaParams::new(NComponents::Count(3)).fit(&a, 5).unwrap();
        let r = fit_randomized(&a, 8, 5, &mean, 3, 5, 4, 11).unwrap();
        assert_all_close(&r.explained_variance, exact.explained_variance(), 1e-6, "variance");
        let mut comps = r.components.clone();
        svd_flip_rows(&mut comps, 3, 5);
        let want: Vec<f64> = exact.components().iter().map(|&v| v as f64).collect();
        assert_all_close(&comps, &want, 1e-5, "components");
    }

    #[test]
    fn variance_fraction_picks_scikit_learns_count() {
        // >>> PCA(n_components=0.9, svd_solver="full").fit(A).n_components_   -> 4
        let p = PcaParams::new(NComponents::VarianceFraction(0.9)).fit(&matrix_a(), 5).unwrap();
        assert_eq!(p.n_components(), 4);
        let err = PcaParams::new(NComponents::VarianceFraction(0.9)).solver(Solver::Randomized).fit(&matrix_a(), 5);
        assert!(matches!(err, Err(Error::InvalidArgument { .. })));
    }

    #[test]
    fn randomized_is_reproducible_with_a_seed() {
        let a = matrix_a();
        let fit = |seed| PcaParams::new(NComponents::Count(2)).solver(Solver::Randomized).seed(seed).fit(&a, 5).unwrap();
        assert_eq!(fit(3), fit(3));
    }

    #[test]
    fn save_load_round_trip_and_mismatch_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = PcaParams::new(NComponents::Count(3)).whiten(true).fit(&matrix_a(), 5).unwrap();
        p.save(dir.path()).unwrap();
        let q = Pca::load(dir.path()).unwrap();
        assert_eq!(p, q);
        // Metadata that disagrees with the tensors is a clear input error, not a panic.
        let meta = std::fs::read_to_string(dir.path().join("pca.json")).unwrap();
        std::fs::write(dir.path().join("pca.json"), meta.replace("\"n_components\": 3", "\"n_components\": 4")).unwrap();
        let err = Pca::load(dir.path()).unwrap_err();
        assert!(err.is_bad_input() && err.to_string().contains("expected F32 [4, 5]"), "{err}");
    }

    #[test]
    fn bad_arguments_are_errors() {
        let a = matrix_a();
        assert!(PcaParams::new(NComponents::Count(6)).fit(&a, 5).unwrap_err().is_bad_input());
        assert!(PcaParams::new(NComponents::Count(1)).fit(&a[..5], 5).unwrap_err().is_bad_input());
        let mut nan = a.clone();
        nan[7] = f32::NAN;
        let e = PcaParams::new(NComponents::Count(1)).fit(&nan, 5).unwrap_err();
        assert!(e.to_string().contains("sample 1, feature 2"), "{e}");
        let p = PcaParams::new(NComponents::Count(2)).fit(&a, 5).unwrap();
        assert!(p.transform(&a[..7]).unwrap_err().is_bad_input());
    }

    /// Sparse-ish data (about 70% zeros) with 10 always-zero features among 120, a decaying
    /// spectrum, and a NaN-free pseudo-random fill.
    fn sparse_data(n: usize, p: usize) -> Vec<f32> {
        let mut state = 5u64;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        (0..n * p)
            .map(|i| {
                let f = i % p;
                let (u, v) = (next(), next());
                if f % 13 == 0 || u < 0.7 { 0.0 } else { v * 10.0 / (1.0 + f as f32 / 8.0) }
            })
            .collect()
    }

    #[test]
    fn leading_eigenpairs_match_the_full_eigendecomposition() {
        // Count(10) of 110 active features takes the f32-then-refined path, All the full f64
        // one; the leading ten must agree.
        let (n, p) = (2000, 120);
        let x = sparse_data(n, p);
        let few = PcaParams::new(NComponents::Count(10)).skip_zeros(Some(false)).fit(&x, p).unwrap();
        let all = PcaParams::new(NComponents::All).skip_zeros(Some(false)).fit(&x, p).unwrap();
        assert_all_close(few.explained_variance(), &all.explained_variance()[..10], 1e-10, "variance");
        assert_all_close(few.explained_variance_ratio(), &all.explained_variance_ratio()[..10], 1e-10, "ratio");
        assert!(close(few.noise_variance(), all.explained_variance()[10..].iter().sum::<f64>() / 110.0, 1e-9));
        let want: Vec<f64> = all.components()[..10 * p].iter().map(|&v| v as f64).collect();
        let got: Vec<f64> = few.components().iter().map(|&v| v as f64).collect();
        assert_all_close(&got, &want, 1e-4, "components");
    }

    #[test]
    fn constant_features_get_zero_variance_and_unit_components() {
        let (n, p) = (500, 120);
        let x = sparse_data(n, p);
        let all = PcaParams::new(NComponents::All).fit(&x, p).unwrap();
        // 110 active features, then 10 zero eigenvalues whose components are the blank features.
        assert!(all.explained_variance()[109] > 0.0);
        assert!(all.explained_variance()[110..].iter().all(|&v| v == 0.0));
        let comps = all.components();
        for (r, f) in (110..120).zip((0..p).filter(|f| f % 13 == 0)) {
            assert_eq!(comps[r * p + f], 1.0, "component {r}");
        }
        // Orthonormal rows.
        for a in 0..p {
            for b in 0..p {
                let dot: f64 = (0..p).map(|i| comps[a * p + i] as f64 * comps[b * p + i] as f64).sum();
                assert!((dot - (a == b) as u8 as f64).abs() < 1e-5, "rows {a}, {b}: {dot}");
            }
        }
    }

    #[test]
    fn skipping_zeros_gives_the_dense_result() {
        let (n, p) = (3000, 120);
        let x = sparse_data(n, p);
        let dense = PcaParams::new(NComponents::Count(20)).skip_zeros(Some(false)).fit(&x, p).unwrap();
        let sparse = PcaParams::new(NComponents::Count(20)).skip_zeros(Some(true)).fit(&x, p).unwrap();
        assert_all_close(sparse.explained_variance_ratio(), dense.explained_variance_ratio(), 1e-6, "ratio");
        let m: Vec<f64> = dense.mean().iter().map(|&v| v as f64).collect();
        let ms: Vec<f64> = sparse.mean().iter().map(|&v| v as f64).collect();
        assert_all_close(&ms, &m, 1e-6, "mean");
    }
